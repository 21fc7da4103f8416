"""The vla_stack graph on a Franka (ROS 2 Jazzy, franka_ros2).

    ros2 launch vla_stack franka.launch.py robot_ip:=172.16.0.2                # dry run (default)
    ros2 launch vla_stack franka.launch.py use_fake_hardware:=true             # no robot
    ros2 launch vla_stack franka.launch.py robot_ip:=172.16.0.2 dry_run:=false # commands go out

Starts franka_bringup's franka.launch.py (unless include_franka_bringup:=false, for a robot brought
up elsewhere) with our controllers file, spawns the controller for the action space
(ee: cartesian_impedance_example_controller, joint: joint_trajectory_controller) and the graph of
ros2_nodes/launch_graph.py: the safety bridge (the only node that commands the robot), the agent and,
once written, the voice node. Safety parameters, topic names and the agent's inputs:
configs/deploy/franka.yaml (the `config` argument).
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription, OpaqueFunction
from launch.conditions import IfCondition
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

from ros2_nodes.launch_graph import PACKAGE, choice, graph_arguments, vla_graph

CONTROLLERS = {'ee': 'cartesian_impedance_example_controller', 'joint': 'joint_trajectory_controller'}


def _graph(context):
    spawner = Node(
        package='controller_manager',
        executable='spawner',
        arguments=[CONTROLLERS[choice(context, 'action_space', CONTROLLERS)]],
        output='screen',
        condition=IfCondition(LaunchConfiguration('include_franka_bringup')),
    )
    return [spawner, *vla_graph(context, 'the robot')]


def generate_launch_description():
    share = get_package_share_directory(PACKAGE)
    franka_launch = PathJoinSubstitution([FindPackageShare('franka_bringup'), 'launch', 'franka.launch.py'])
    return LaunchDescription([
        *graph_arguments(os.path.join(share, 'configs', 'deploy', 'franka.yaml'), 'fr3',
                         "franka_description robot: 'fr3' (Jazzy default) or 'panda'"),
        DeclareLaunchArgument('robot_ip', default_value='172.16.0.2',
                              description='Hostname or IP address of the robot (FCI)'),
        DeclareLaunchArgument('use_fake_hardware', default_value='false',
                              description='Run franka_ros2 against fake hardware (no robot)'),
        DeclareLaunchArgument('load_gripper', default_value='true',
                              description='Start franka_gripper (move / grasp / homing actions)'),
        DeclareLaunchArgument('include_franka_bringup', default_value='true',
                              description="Include franka_bringup's franka.launch.py and spawn the controller"),
        DeclareLaunchArgument('controllers_yaml',
                              default_value=os.path.join(share, 'configs', 'deploy', 'franka_controllers.yaml'),
                              description='ros2_control controllers file handed to franka_bringup'),
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
