"""Thin rclpy nodes around the ROS-free ``vla_core`` library (ROS 2 Jazzy).

Each module is one node with a ``main(args=None)`` console-script entry point; all decisions live in
``vla_core`` and are tested there. Nothing here is imported by the test suite: rclpy is not
installable off a ROS 2 install, and tests/ros2_nodes/ checks these files with ``ast`` instead.
"""
