"""The vla_stack graph against our MuJoCo kitchen acting as the robot (no hardware, no franka_ros2).

    ros2 launch vla_stack sim.launch.py checkpoint:=/abs/path/to/policy   # dry run (default)
    ros2 launch vla_stack sim.launch.py dry_run:=false                    # the bridge commands the sim arm
    ros2 topic pub --once /vla/task std_msgs/msg/String "{data: 'put the red mug on the table'}"

Same nodes, topics and safety checks as franka.launch.py (ros2_nodes/launch_graph.py); sim_robot_node
publishes the joint states, robot state, keypoints and camera images a Franka would and takes the
same commands. Config: configs/deploy/sim.yaml (the kitchen's Panda, its workspace, the sim scene).
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from ros2_nodes.launch_graph import PACKAGE, graph_arguments, vla_graph


def _graph(context):
    sim_robot = Node(
        package=PACKAGE,
        executable='sim_robot_node',
        name='vla_sim_robot',
        output='screen',
        parameters=[{'config': LaunchConfiguration('config').perform(context),
                     'bench': LaunchConfiguration('bench').perform(context)}],
    )
    return [sim_robot, *vla_graph(context, 'the sim arm')]


def generate_launch_description():
    share = get_package_share_directory(PACKAGE)
    return LaunchDescription([
        *graph_arguments(os.path.join(share, 'configs', 'deploy', 'sim.yaml'), 'panda',
                         "Robot the simulated arm is (joint names, limits): the kitchen's Panda"),
        DeclareLaunchArgument('bench', default_value='kitchen_r',
                              description='MuJoCo scene the simulated robot runs (configs/bench)'),
        OpaqueFunction(function=_graph),
    ])
