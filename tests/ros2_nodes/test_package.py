"""The ROS 2 package, checked without ROS: package.xml, console scripts, launch files (read with ast).

rclpy is not on this registry or in Debian, so the nodes and launch files are never imported here.
What needs a ROS 2 install (the node running, the launch description building) is at the bottom and
skips with the reason where ROS 2 is absent.
"""

import ast
import configparser
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "vla_stack"
OUR_MODULES = {"vla_core", "ros2_nodes", "sim"}
# pip imports on the ROS path → their rosdep keys in package.xml
PYTHON_DEPS = {"numpy": "python3-numpy", "yaml": "python3-yaml"}
ROS_REASON = "rclpy/ROS 2 not installed here; runs where ROS 2 Jazzy is sourced"

FRANKA_ARGS = {"robot_ip", "robot_type", "arm_id", "use_fake_hardware", "load_gripper", "include_franka_bringup",
               "action_space", "dry_run", "planner", "policy", "checkpoint", "planner_checkpoint", "voice_input",
               "config", "controllers_yaml"}
SIM_ARGS = {"robot_type", "arm_id", "bench", "action_space", "dry_run", "planner", "policy", "checkpoint",
            "planner_checkpoint", "voice_input", "config"}
OPTIONAL_NODES = {"voice_node"}  # started once installed (another part of issue 7)
GRAPH_NODES = {"safety_bridge_node", "agent_node"}  # both launch files, through ros2_nodes/launch_graph.py
NOT_NODES = {"__init__.py", "common.py", "launch_graph.py"}  # modules in ros2_nodes/ with no console script
GRAPH = ROOT / "ros2_nodes" / "launch_graph.py"


def node_files():
    return sorted((ROOT / "ros2_nodes").glob("*.py"))


def launch_files():
    return sorted((ROOT / "launch").glob("*.launch.py"))


def parse(path):
    return ast.parse(path.read_text(), filename=str(path))


def launch_sources(path):
    """The launch file's tree and, when it imports the shared graph, launch_graph.py's too, with the
    string constants both define (PACKAGE comes from the graph module)."""
    trees = [parse(path)]
    if "ros2_nodes.launch_graph" in {n.module for n in ast.walk(trees[0]) if isinstance(n, ast.ImportFrom)}:
        trees.append(parse(GRAPH))
    consts = {}
    for tree in reversed(trees):
        consts.update(module_constants(tree))
    return trees, consts


def package_xml():
    return ET.parse(ROOT / "package.xml").getroot()


def exec_depends():
    root = package_xml()
    return {e.text.strip() for tag in ("exec_depend", "depend") for e in root.findall(tag)}


def imported_top_modules(tree):
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module.split(".")[0])
    return out


def module_constants(tree):
    """Top-level NAME = 'string' assignments (PACKAGE = 'vla_stack')."""
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    out[t.id] = node.value.value
    return out


def calls(tree, name):
    """Every call to ``name(...)`` (plain or attribute), as ast.Call nodes."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            if (isinstance(f, ast.Name) and f.id == name) or (isinstance(f, ast.Attribute) and f.attr == name):
                found.append(node)
    return found


def value_of(node, constants):
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    return None


def keyword(call, name, constants):
    for kw in call.keywords:
        if kw.arg == name:
            return value_of(kw.value, constants)
    return None


def console_scripts():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    out = {}
    for line in cfg["options.entry_points"]["console_scripts"].strip().splitlines():
        name, target = (s.strip() for s in line.split("=", 1))
        out[name] = target
    return out


# ---- package.xml ----

def test_package_xml_is_format_3_ament_python():
    root = package_xml()
    assert root.tag == "package" and root.get("format") == "3"
    assert root.findtext("name") == PACKAGE
    for required in ("version", "description", "maintainer", "license"):
        assert (root.findtext(required) or "").strip(), f"package.xml lacks <{required}>"
    assert root.find("maintainer").get("email")
    assert root.findtext("export/build_type") == "ament_python"


def test_package_xml_declares_every_ros_package_the_code_imports():
    stdlib = set(sys.stdlib_module_names)
    needed = set()
    for path in node_files() + launch_files():
        for mod in imported_top_modules(parse(path)) - stdlib - OUR_MODULES:
            needed.add(PYTHON_DEPS.get(mod, mod))
    assert {"rclpy", "franka_msgs", "launch", "launch_ros"} <= needed  # the scan sees the real imports
    missing = needed - exec_depends()
    assert not missing, f"imported but not in package.xml: {sorted(missing)}"


def test_package_xml_declares_every_package_the_launch_files_start_or_include():
    used = set()
    for path in launch_files():
        trees, consts = launch_sources(path)
        for tree in trees:
            for call in calls(tree, "Node"):
                used.add(keyword(call, "package", consts))
            for fn in ("FindPackageShare", "get_package_share_directory", "get_package_prefix"):
                used |= {value_of(c.args[0], consts) for c in calls(tree, fn) if c.args}
    used.discard(PACKAGE)
    assert None not in used, "a package name in a launch file is not a literal"
    assert {"franka_bringup", "controller_manager"} <= used
    missing = used - exec_depends()
    assert not missing, f"started by the launch files but not in package.xml: {sorted(missing)}"


# ---- console scripts ----

def test_every_console_script_resolves_to_a_main():
    scripts = console_scripts()
    assert {"vla-eval", "safety_bridge_node", "agent_node", "sim_robot_node"} <= set(scripts)
    assert "camera_node" not in scripts  # the agent subscribes to the camera topics itself
    for name, target in scripts.items():
        module, func = target.split(":")
        path = ROOT.joinpath(*module.split(".")).with_suffix(".py")
        assert path.is_file(), f"{name}: {path} does not exist"
        defined = {n.name for n in parse(path).body if isinstance(n, ast.FunctionDef)}
        assert func in defined, f"{name}: {module} defines no {func}()"


def test_every_node_module_has_a_main_and_a_console_script():
    targets = set(console_scripts().values())
    for path in node_files():
        if path.name in NOT_NODES:
            continue
        mains = [n for n in parse(path).body if isinstance(n, ast.FunctionDef) and n.name == "main"]
        assert mains, f"{path.name} has no main()"
        assert [a.arg for a in mains[0].args.args] == ["args"] and mains[0].args.defaults, "main(args=None)"
        assert f"ros2_nodes.{path.stem}:main" in targets, f"{path.name} has no console script"


# ---- launch files ----

def declared_arguments(trees):
    out = {}
    for tree in trees:
        for call in calls(tree, "DeclareLaunchArgument"):
            name = value_of(call.args[0], {}) if call.args else None
            assert isinstance(name, str), "DeclareLaunchArgument names must be literals"
            assert name not in out, f"launch argument {name!r} declared twice"
            out[name] = call
    return out


def optional_loop(tree):
    """The ``for executable, parameters in optional.items():`` loop that starts the optional nodes."""
    for node in ast.walk(tree):
        if isinstance(node, ast.For) and ast.unparse(node.iter) == "optional.items()":
            return node
    return None


def started_executables(trees, consts):
    """(package, executable) of every Node(...) outside the optional loop; those must be literals."""
    out = set()
    for tree in trees:
        loop = optional_loop(tree)
        inside = {id(c) for c in calls(loop, "Node")} if loop is not None else set()
        out |= {(keyword(c, "package", consts), keyword(c, "executable", consts))
                for c in calls(tree, "Node") if id(c) not in inside}
    return out


def optional_executables(trees):
    """Keys of the ``optional = {...}`` table: nodes started only when installed (``_installed`` guard)."""
    for tree in trees:
        loop = optional_loop(tree)
        if loop is None:
            continue
        assert "_installed(executable)" in ast.unparse(loop)
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "optional"
                                                    for t in node.targets):
                return {k.value for k in node.value.keys}
    return set()


@pytest.mark.parametrize("name, expected, started", [
    ("franka.launch.py", FRANKA_ARGS, GRAPH_NODES),
    ("sim.launch.py", SIM_ARGS, GRAPH_NODES | {"sim_robot_node"}),
])
def test_launch_files_declare_the_documented_arguments_and_start_the_documented_nodes(name, expected, started):
    trees, consts = launch_sources(ROOT / "launch" / name)
    assert len(trees) == 2, f"{name} does not use the shared graph (ros2_nodes/launch_graph.py)"
    assert any(isinstance(n, ast.FunctionDef) and n.name == "generate_launch_description" for n in trees[0].body)
    assert "vla_graph(context" in ast.unparse(trees[0]) and "*graph_arguments(" in ast.unparse(trees[0])
    args = declared_arguments(trees)
    assert set(args) == expected
    assert keyword(args["dry_run"], "default_value", {}) == "true"  # dry run unless asked otherwise
    assert keyword(args["action_space"], "default_value", {}) == "ee"
    ours = {exe for pkg, exe in started_executables(trees, consts) if pkg == PACKAGE}
    assert ours == started
    scripts = console_scripts()
    assert ours <= set(scripts), f"{name} starts executables with no console script: {sorted(ours - set(scripts))}"
    assert optional_executables(trees) == OPTIONAL_NODES


def test_sim_launch_defaults_to_the_sim_config_and_the_kitchen_panda():
    source = ast.unparse(parse(ROOT / "launch" / "sim.launch.py"))
    assert "'configs', 'deploy', 'sim.yaml'" in source and "'panda'" in source


def test_franka_launch_includes_franka_bringup_conditionally():
    tree = parse(ROOT / "launch" / "franka.launch.py")
    source = ast.unparse(tree)
    includes = calls(tree, "IncludeLaunchDescription")
    assert len(includes) == 1
    inc = ast.unparse(includes[0])
    assert "condition=IfCondition(LaunchConfiguration('include_franka_bringup'))" in inc
    assert "franka_launch" in inc and "PathJoinSubstitution([FindPackageShare('franka_bringup'), 'launch', " \
        "'franka.launch.py'])" in source
    for arg in ("robot_ip", "robot_type", "use_fake_hardware", "load_gripper", "controllers_yaml"):
        assert f"'{arg}': LaunchConfiguration('{arg}')" in inc, arg
    # the config comes from the installed share directory
    assert "get_package_share_directory(PACKAGE)" in source and "'configs', 'deploy', 'franka.yaml'" in source


# ---- with ROS 2 (skipped here) ----

def test_launch_descriptions_build_where_ros_is_installed():
    pytest.importorskip("launch", reason=ROS_REASON)
    pytest.importorskip("launch_ros", reason=ROS_REASON)
    ament = pytest.importorskip("ament_index_python.packages", reason=ROS_REASON)
    try:
        ament.get_package_share_directory(PACKAGE)
    except ament.PackageNotFoundError:
        pytest.skip("vla_stack is not installed in the sourced ROS 2 workspace (colcon build first)")
    import importlib.util

    from launch.actions import DeclareLaunchArgument

    for path in launch_files():
        spec = importlib.util.spec_from_file_location(path.stem.replace(".", "_"), path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        entities = module.generate_launch_description().entities
        names = {e.name for e in entities if isinstance(e, DeclareLaunchArgument)}
        assert names == (FRANKA_ARGS if path.name == "franka.launch.py" else SIM_ARGS)


def first_messages(node_module, node_class, config, msg_type, topic, timeout_s):
    """Start ``node_class`` (rclpy, with ``config``) beside a probe; the messages on ``topic`` (a name
    in ``node.cfg.topics``) received until the first arrives or ``timeout_s`` passes."""
    rclpy = pytest.importorskip("rclpy", reason=ROS_REASON)
    pytest.importorskip("franka_msgs", reason="franka_msgs (franka_ros2) not installed")
    import importlib
    import time

    from rclpy.executors import SingleThreadedExecutor
    from rclpy.parameter import Parameter

    cls = getattr(importlib.import_module(f"ros2_nodes.{node_module}"), node_class)
    rclpy.init()
    try:
        node = cls(parameter_overrides=[Parameter("config", value=str(ROOT / "configs" / "deploy" / config))])
        probe = rclpy.create_node(f"{node_module}_probe")
        got = []
        probe.create_subscription(msg_type, getattr(node.cfg.topics, topic), got.append, 10)
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        executor.add_node(probe)
        deadline = time.monotonic() + timeout_s
        while not got and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.1)
        return got
    finally:
        rclpy.try_shutdown()


def test_safety_bridge_node_holds_in_dry_run_where_ros_is_installed():
    pytest.importorskip("rclpy", reason=ROS_REASON)
    import json

    from std_msgs.msg import String

    statuses = first_messages("safety_bridge_node", "SafetyBridgeNode", "franka.yaml", String, "status", 5.0)
    assert statuses, "no status from the safety bridge within 5 s"
    last = json.loads(statuses[-1].data)
    assert last["dry_run"] and not last["send"] and last["hold"] and "stale_state" in last["reasons"]


def test_sim_robot_node_publishes_franka_shaped_state_where_ros_is_installed():
    pytest.importorskip("rclpy", reason=ROS_REASON)
    from sensor_msgs.msg import JointState

    states = first_messages("sim_robot_node", "SimRobotNode", "sim.yaml", JointState, "joint_states", 10.0)
    assert states, "no joint states from the sim robot within 10 s"
    assert list(states[-1].name[:7]) == [f"panda_joint{i}" for i in range(1, 8)]
