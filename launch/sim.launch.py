"""The vla_stack graph against our MuJoCo kitchen acting as the robot (no hardware, no franka_ros2).

    ros2 launch vla_stack sim.launch.py                  # dry run (default)
    ros2 launch vla_stack sim.launch.py dry_run:=false   # the bridge commands the simulated arm

Same nodes, topics and safety parameters as franka.launch.py; the simulated robot (``sim_robot_node``,
when installed) publishes the joint states, robot state and camera images a Franka would and takes
the same commands. Without it the bridge only ever holds (stale state), which is the safe outcome.
"""

import os

from ament_index_python.packages import get_package_prefix, get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, LogInfo, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

PACKAGE = 'vla_stack'
ACTION_SPACES = ('ee', 'joint')
VOICE_INPUTS = ('text', 'audio')


def _flag(context, name):
    """'true' / 'false' only: a typo in dry_run must not quietly mean live."""
    value = LaunchConfiguration(name).perform(context).strip().lower()
    if value not in ('true', 'false'):
        raise ValueError(f"{name} must be 'true' or 'false', got {value!r}")
    return value == 'true'


def _choice(context, name, choices):
    value = LaunchConfiguration(name).perform(context)
    if value not in choices:
        raise ValueError(f'{name} must be one of {sorted(choices)}, got {value!r}')
    return value


def _installed(executable):
    """Nodes written in other parts of issue 7 join the graph once their console script exists."""
    return os.path.isfile(os.path.join(get_package_prefix(PACKAGE), 'lib', PACKAGE, executable))


def _graph(context):
    action_space = _choice(context, 'action_space', ACTION_SPACES)
    voice_input = _choice(context, 'voice_input', VOICE_INPUTS)
    dry_run = _flag(context, 'dry_run')
    config = LaunchConfiguration('config').perform(context)
    arm_id = LaunchConfiguration('arm_id').perform(context)
    actions = [
        Node(
            package=PACKAGE,
            executable='safety_bridge_node',
            name='vla_safety_bridge',
            output='screen',
            parameters=[{'config': config, 'dry_run': dry_run, 'action_space': action_space, 'arm_id': arm_id}],
        ),
    ]
    optional = {
        'sim_robot_node': {'config': config, 'action_space': action_space,
                           'bench': LaunchConfiguration('bench').perform(context)},
        'agent_node': {'config': config, 'action_space': action_space,
                       'planner': LaunchConfiguration('planner').perform(context),
                       'policy': LaunchConfiguration('policy').perform(context),
                       'checkpoint': LaunchConfiguration('checkpoint').perform(context)},
        'camera_node': {'config': config},
        'voice_node': {'config': config, 'voice_input': voice_input},
    }
    for executable, parameters in optional.items():
        if _installed(executable):
            actions.append(Node(package=PACKAGE, executable=executable, output='screen', parameters=[parameters]))
        else:
            actions.append(LogInfo(msg=f'vla_stack: {executable} is not installed; not started'))
    mode = 'DRY RUN (dry_run:=false to send commands)' if dry_run else 'LIVE: the safety bridge commands the sim arm'
    actions.append(LogInfo(msg=f'vla_stack safety bridge: {mode}'))
    return actions


def generate_launch_description():
    share = get_package_share_directory(PACKAGE)
    return LaunchDescription([
        DeclareLaunchArgument('robot_type', default_value='fr3',
                              description='Robot the simulated arm stands in for (joint names, limits)'),
        DeclareLaunchArgument('arm_id', default_value=LaunchConfiguration('robot_type'),
                              description='Arm id (older franka_ros2 name for robot_type); must match the config'),
        DeclareLaunchArgument('bench', default_value='kitchen_r',
                              description='MuJoCo scene the simulated robot runs (configs/bench)'),
        DeclareLaunchArgument('action_space', default_value='ee',
                              description="'ee' (PoseStamped equilibrium) or 'joint' (joint trajectory)"),
        DeclareLaunchArgument('dry_run', default_value='true',
                              description='true: the safety bridge logs and previews commands, sends nothing'),
        DeclareLaunchArgument('planner', default_value='learned',
                              description='Planner config (configs/planner): oracle | learned | vlm'),
        DeclareLaunchArgument('policy', default_value='flow',
                              description='Policy config (configs/policy): diffusion | flow | expert'),
        DeclareLaunchArgument('checkpoint', default_value='',
                              description="Policy checkpoint folder ('' = the policy config's own)"),
        DeclareLaunchArgument('voice_input', default_value='text',
                              description="Corrections: 'text' (typed, on /vla/voice/correction) or 'audio' (ASR)"),
        DeclareLaunchArgument('config', default_value=os.path.join(share, 'configs', 'deploy', 'franka.yaml'),
                              description='Safety limits, gripper mapping and topic names'),
        OpaqueFunction(function=_graph),
    ])
