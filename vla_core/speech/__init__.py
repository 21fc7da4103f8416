"""Speech in for corrections: 16 kHz mono audio → energy VAD → offline Whisper base (faster-whisper) →
text for the correction channel. ROS-free; ``ros2_nodes/voice_node.py`` wraps ``VoiceCore``."""
