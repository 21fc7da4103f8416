"""voice_node on ROS: typed text passes through to /vla/voice/correction. Skips where ROS 2 is absent (rclpy is
not on this registry or in Debian); the logic it wraps (VoiceCore) is tested in tests/vla_core/speech/."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROS_REASON = "rclpy/ROS 2 not installed here; runs where ROS 2 Jazzy is sourced"


def test_voice_node_is_a_console_script_and_in_the_graph():
    import configparser

    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    assert "voice_node = ros2_nodes.voice_node:main" in cfg["options.entry_points"]["console_scripts"]
    assert "'voice_node'" in (ROOT / "ros2_nodes" / "launch_graph.py").read_text()


def test_typed_correction_passes_through_where_ros_is_installed():
    rclpy = pytest.importorskip("rclpy", reason=ROS_REASON)
    pytest.importorskip("audio_common_msgs", reason="audio_common_msgs (audio_common) not installed")
    import time

    from rclpy.executors import SingleThreadedExecutor
    from rclpy.parameter import Parameter
    from std_msgs.msg import String

    from ros2_nodes.voice_node import VoiceNode

    rclpy.init()
    try:
        node = VoiceNode(parameter_overrides=[Parameter("config", value=str(ROOT / "configs/deploy/franka.yaml"))])
        probe = rclpy.create_node("voice_probe")
        got = []
        probe.create_subscription(String, node.cfg.topics.voice_correction, got.append, 10)
        pub = probe.create_publisher(String, "/vla/voice/typed", 10)
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        executor.add_node(probe)
        deadline = time.monotonic() + 5.0
        while not got and time.monotonic() < deadline:
            pub.publish(String(data="  move left "))
            executor.spin_once(timeout_sec=0.1)
        assert got and got[0].data == "move left"
    finally:
        rclpy.try_shutdown()
