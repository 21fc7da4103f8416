"""The vla_stack node graph both launch files start (a launch helper, not a node): argument checks,
the shared launch arguments, and the safety bridge, agent and (once written) voice nodes.

launch/franka.launch.py adds franka_bringup and the controller spawner; launch/sim.launch.py adds
sim_robot_node. Both get the same nodes, parameters and topics from here.
"""

import os

from ament_index_python.packages import get_package_prefix
from launch.actions import DeclareLaunchArgument, LogInfo
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

PACKAGE = 'vla_stack'
ACTION_SPACES = ('ee', 'joint')
VOICE_INPUTS = ('text', 'audio')


def flag(context, name):
    """'true' / 'false' only: a typo in dry_run must not quietly mean live."""
    value = LaunchConfiguration(name).perform(context).strip().lower()
    if value not in ('true', 'false'):
        raise ValueError(f"{name} must be 'true' or 'false', got {value!r}")
    return value == 'true'


def choice(context, name, choices):
    value = LaunchConfiguration(name).perform(context)
    if value not in choices:
        raise ValueError(f'{name} must be one of {sorted(choices)}, got {value!r}')
    return value


def _installed(executable):
    """Nodes written in other parts of issue 7 join the graph once their console script exists."""
    return os.path.isfile(os.path.join(get_package_prefix(PACKAGE), 'lib', PACKAGE, executable))


def graph_arguments(config_default, robot_type_default, robot_type_description):
    """The launch arguments every vla_stack graph takes."""
    return [
        DeclareLaunchArgument('robot_type', default_value=robot_type_default, description=robot_type_description),
        DeclareLaunchArgument('arm_id', default_value=LaunchConfiguration('robot_type'),
                              description='Arm id (older franka_ros2 name for robot_type); must match the config'),
        DeclareLaunchArgument('action_space', default_value='ee',
                              description="'ee' (PoseStamped to the cartesian impedance controller) or "
                                          "'joint' (joint_trajectory_controller; the agent's IK is the real Franka's: "
                                          "on sim.launch.py use 'ee')"),
        DeclareLaunchArgument('dry_run', default_value='true',
                              description='true: the safety bridge logs and previews commands, sends nothing'),
        DeclareLaunchArgument('planner', default_value='learned',
                              description='Planner config (configs/planner): learned | vlm (oracle needs the simulator)'),
        DeclareLaunchArgument('policy', default_value='flow',
                              description='Policy config (configs/policy): diffusion | flow'),
        DeclareLaunchArgument('checkpoint', default_value='',
                              description="Policy checkpoint folder ('' = the policy config's own)"),
        DeclareLaunchArgument('planner_checkpoint', default_value='',
                              description="Learned planner checkpoint folder ('' = the planner config's own)"),
        DeclareLaunchArgument('voice_input', default_value='text',
                              description="Corrections: 'text' (typed, on /vla/voice/correction) or 'audio' (ASR)"),
        DeclareLaunchArgument('config', default_value=config_default,
                              description='Safety limits, gripper mapping, topic names, agent inputs'),
    ]


def vla_graph(context, robot):
    """The safety bridge (the only node that commands ``robot``), the agent and the voice node."""
    action_space = choice(context, 'action_space', ACTION_SPACES)
    voice_input = choice(context, 'voice_input', VOICE_INPUTS)
    dry_run = flag(context, 'dry_run')
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
        Node(
            package=PACKAGE,
            executable='agent_node',
            name='vla_agent',
            output='screen',
            parameters=[{'config': config, 'action_space': action_space, 'arm_id': arm_id,
                         'planner': LaunchConfiguration('planner').perform(context),
                         'policy': LaunchConfiguration('policy').perform(context),
                         'checkpoint': LaunchConfiguration('checkpoint').perform(context),
                         'planner_checkpoint': LaunchConfiguration('planner_checkpoint').perform(context)}],
        ),
    ]
    optional = {
        'voice_node': {'config': config, 'voice_input': voice_input},
    }
    for executable, parameters in optional.items():
        if _installed(executable):
            actions.append(Node(package=PACKAGE, executable=executable, output='screen', parameters=[parameters]))
        else:
            actions.append(LogInfo(msg=f'vla_stack: {executable} is not installed; not started'))
    mode = 'DRY RUN (dry_run:=false to send commands)' if dry_run else f'LIVE: the safety bridge commands {robot}'
    actions.append(LogInfo(msg=f'vla_stack safety bridge: {mode}'))
    return actions
