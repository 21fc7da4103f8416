"""voice_node: corrections by voice or keyboard → ``/vla/voice/correction`` (a thin wrapper around
vla_core.speech.voice.VoiceCore).

In:  ``typed_topic`` (std_msgs/String, default ``/vla/voice/typed``): typed text, passed through stripped;
     with ``voice_input:=audio`` also ``audio_topic`` (audio_common_msgs/AudioData, default
     ``/audio/audio``): 16 kHz mono S16LE, e.g. audio_capture with ``format:=wave channels:=1
     sample_rate:=16000 sample_format:=S16LE``. Utterances are cut by an energy VAD and transcribed
     offline (Whisper base, faster-whisper, biased with the motion grammar).
Out: ``topics.voice_correction`` (std_msgs/String): every non-empty transcript or typed line; the agent
     parses it (what is no correction is reported in its status, never acted on).

Parameters: ``config`` (configs/deploy/*.yaml, for the topic names), ``voice_input`` ('text' | 'audio'),
``audio_topic``, ``typed_topic``. The ASR blocks this node's callback for its ~1 s per utterance; the audio
subscription queues what arrives meanwhile.
"""

from __future__ import annotations

from audio_common_msgs.msg import AudioData
from rclpy.node import Node
from std_msgs.msg import String

from ros2_nodes.common import node_config, spin
from vla_core.speech.voice import VoiceCore

VOICE_INPUTS = ("text", "audio")


class VoiceNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("vla_voice", **kwargs)
        param = lambda name, default: self.declare_parameter(name, default).value  # noqa: E731
        _, self.cfg = node_config(self)
        mode = param("voice_input", "text")
        audio_topic, typed_topic = param("audio_topic", "/audio/audio"), param("typed_topic", "/vla/voice/typed")
        if mode not in VOICE_INPUTS:
            raise ValueError(f"voice_input must be one of {VOICE_INPUTS}, got {mode!r}")
        asr = None
        if mode == "audio":
            from vla_core.speech.asr import WhisperASR

            asr = WhisperASR()  # ModelUnavailable (with the pip command) stops the node: audio was asked for
        self.core = VoiceCore(asr)
        self._pub = self.create_publisher(String, self.cfg.topics.voice_correction, 10)
        self.create_subscription(String, typed_topic, self._on_typed, 10)
        if mode == "audio":
            self.create_subscription(AudioData, audio_topic, self._on_audio, 100)
        self.get_logger().info(f"voice ({mode}): {typed_topic}{' + ' + audio_topic if asr else ''} → "
                               f"{self.cfg.topics.voice_correction}")

    def _publish(self, heard) -> None:
        self._pub.publish(String(data=heard.text))
        self.get_logger().info(f"{heard.source}: {heard.text!r} → {heard.correction.describe()}"
                               + (f" (ASR {heard.asr_ms:.0f} ms)" if heard.source == "voice" else ""))

    def _on_typed(self, msg: String) -> None:
        heard = self.core.typed(msg.data)
        if heard is None:
            self.get_logger().warning("typed correction ignored: blank or too long")
        else:
            self._publish(heard)

    def _on_audio(self, msg: AudioData) -> None:
        try:
            for heard in self.core.audio(bytes(msg.data)):
                self._publish(heard)
        except ValueError as e:
            self.get_logger().warning(f"audio dropped: {e}", throttle_duration_sec=5.0)


def main(args=None) -> None:
    spin(VoiceNode, args)


if __name__ == "__main__":
    main()
