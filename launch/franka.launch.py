"""The vla_stack graph on a Franka (ROS 2 Jazzy, franka_ros2).

    ros2 launch vla_stack franka.launch.py robot_ip:=172.16.0.2                # dry run (default)
    ros2 launch vla_stack franka.launch.py use_fake_hardware:=true             # no robot
    ros2 launch vla_stack franka.launch.py robot_ip:=172.16.0.2 dry_run:=false # commands go out

Starts franka_bringup's franka.launch.py (unless include_franka_bringup:=false, for a robot brought
up elsewhere) with our controllers file, spawns the controller for the action space
(ee: cartesian_impedance_example_controller, joint: joint_trajectory_controller), the safety bridge
(the only node that commands the robot) and, where they are installed, the agent, camera and voice
nodes. Safety parameters and topic names: configs/deploy/franka.yaml (the `config` argument).
"""

import os

from ament_index_python.packages import get_package_prefix, get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription, LogInfo, OpaqueFunction
from launch.conditions import IfCondition
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

PACKAGE = 'vla_stack'
CONTROLLERS = {'ee': 'cartesian_impedance_example_controller', 'joint': 'joint_trajectory_controller'}
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
    action_space = _choice(context, 'action_space', CONTROLLERS)
    voice_input = _choice(context, 'voice_input', VOICE_INPUTS)
    dry_run = _flag(context, 'dry_run')
    config = LaunchConfiguration('config').perform(context)
    arm_id = LaunchConfiguration('arm_id').perform(context)
    actions = [
        Node(
            package='controller_manager',
            executable='spawner',
            arguments=[CONTROLLERS[action_space]],
            output='screen',
            condition=IfCondition(LaunchConfiguration('include_franka_bringup')),
        ),
        Node(
            package=PACKAGE,
            executable='safety_bridge_node',
            name='vla_safety_bridge',
            output='screen',
            parameters=[{'config': config, 'dry_run': dry_run, 'action_space': action_space, 'arm_id': arm_id}],
        ),
    ]
    optional = {
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
    mode = 'DRY RUN (dry_run:=false to send commands)' if dry_run else 'LIVE: the safety bridge commands the robot'
    actions.append(LogInfo(msg=f'vla_stack safety bridge: {mode}'))
    return actions


def generate_launch_description():
    share = get_package_share_directory(PACKAGE)
    franka_launch = PathJoinSubstitution([FindPackageShare('franka_bringup'), 'launch', 'franka.launch.py'])
    return LaunchDescription([
        DeclareLaunchArgument('robot_ip', default_value='172.16.0.2',
                              description='Hostname or IP address of the robot (FCI)'),
        DeclareLaunchArgument('robot_type', default_value='fr3',
                              description="franka_description robot: 'fr3' (Jazzy default) or 'panda'"),
        DeclareLaunchArgument('arm_id', default_value=LaunchConfiguration('robot_type'),
                              description='Arm id (older franka_ros2 name for robot_type); must match the config'),
        DeclareLaunchArgument('use_fake_hardware', default_value='false',
                              description='Run franka_ros2 against fake hardware (no robot)'),
        DeclareLaunchArgument('load_gripper', default_value='true',
                              description='Start franka_gripper (move / grasp / homing actions)'),
        DeclareLaunchArgument('include_franka_bringup', default_value='true',
                              description="Include franka_bringup's franka.launch.py and spawn the controller"),
        DeclareLaunchArgument('controllers_yaml',
                              default_value=os.path.join(share, 'configs', 'deploy', 'franka_controllers.yaml'),
                              description='ros2_control controllers file handed to franka_bringup'),
        DeclareLaunchArgument('action_space', default_value='ee',
                              description="'ee' (PoseStamped to the cartesian impedance controller) or "
                                          "'joint' (joint_trajectory_controller)"),
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
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(franka_launch),
            launch_arguments={
                'robot_ip': LaunchConfiguration('robot_ip'),
                'robot_type': LaunchConfiguration('robot_type'),
                'use_fake_hardware': LaunchConfiguration('use_fake_hardware'),
                'load_gripper': LaunchConfiguration('load_gripper'),
                'controllers_yaml': LaunchConfiguration('controllers_yaml'),
            }.items(),
            condition=IfCondition(LaunchConfiguration('include_franka_bringup')),
        ),
        OpaqueFunction(function=_graph),
    ])
