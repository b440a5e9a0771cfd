"""Many nodes: a Slurm batch script, and DeepSpeed-style host lists.

The sbatch script follows Axolotl's own Slurm example: one task per node; the dataset is
tokenized once (`axolotl preprocess`, one task on the first node) before training, so the nodes
do not all tokenize it at once; then every node's task starts the same torchrun line, which meets
the others through the c10d rendezvous on the first node, under the job's id. The node count and
the main node come from Slurm's variables, so the same script works for any node count Slurm
grants. It needs nothing from the wizard at run time.
"""

from __future__ import annotations

import re
import shlex
import socket
from dataclasses import dataclass
from pathlib import Path

from wizard import __version__
from wizard.errors import WizardError
from wizard.launch.command import LaunchCommand, Layout
from wizard.yamlio import read_text_file

SBATCH_FILENAME = "launch.sbatch"
LAUNCHES_DIR = "launches"  # as wizard.launch.manifest names it
CPUS_PER_PROCESS = 8
MAX_HOSTFILE_BYTES = 1024 * 1024
# Besides control characters: what sbatch's own #SBATCH parser or a shell would read as syntax.
UNSAFE_IN_SBATCH = frozenset("\"'$`\\")
# The per-node values in torchrun's line, replaced by Slurm's in the script.
NODE_VALUES = {
    "--nnodes": '"$SLURM_NNODES"',
    "--node_rank": '"$SLURM_NODEID"',
    "--rdzv_endpoint": '"$MAIN_IP:$MAIN_PORT"',
    "--rdzv_id": '"$SLURM_JOB_ID"',
}
NCCL_NOTES = (
    "# NCCL: the defaults suit most clusters. Uncomment what yours needs:",
    "# export NCCL_DEBUG=INFO            # when nodes hang at start: shows which link fails",
    "# export NCCL_SOCKET_IFNAME=ib0     # when the nodes' first interface is not the fast one",
    "# export NCCL_IB_DISABLE=1          # no InfiniBand (or a broken one): use TCP sockets",
    "# export NCCL_P2P_DISABLE=1         # GPUs without peer-to-peer (some PCIe/VM setups)",
)


def sbatch_script(
    command: LaunchCommand,
    preprocess: list[str],
    layout: Layout,
    run_dir: Path,
    options: SlurmOptions,
) -> str:
    """The batch script: resources, the preprocessing step, the torchrun line.

    Every value that reaches the script is checked or quoted: a run folder's path is data, and
    a newline in it must never become a line of the script.
    """
    log = sbatch_value(f"{no_pattern(run_dir)}/{LAUNCHES_DIR}/slurm-%j.out", "the run folder")
    lines = [
        "#!/bin/bash",
        f"# Written by axolotl-wizard {__version__}. Submit it: sbatch {SBATCH_FILENAME}",
        f"#SBATCH --job-name={job_name(options.job_name)}",
        f"#SBATCH --nodes={layout.nodes}",
        "#SBATCH --ntasks-per-node=1",
        f"#SBATCH --cpus-per-task={options.cpus_per_task or default_cpus(layout)}",
        f"#SBATCH --output={log}",
    ]
    if not layout.cpu:
        lines.append(f"#SBATCH --gpus-per-node={layout.processes_per_node}")
    lines += [f"#SBATCH --{name}={sbatch_value(value, name)}"
              for name, value in options.extra_directives()]  # fmt: skip
    lines += [
        "set -euo pipefail",
        f"cd {shlex.quote(str(run_dir))}",
        "# The first node of the allocation is the main node; every node reaches it there.",
        'MAIN_IP="$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)"',
        f'MAIN_PORT="${{MAIN_PORT:-{layout.main_port}}}"',
        "export MAIN_IP MAIN_PORT",
        "# The processes start at different times on different nodes; the rendezvous waits for",
        "# them, so torch's own barrier at init is not needed (and times out on slow starts).",
        "export TORCH_DIST_INIT_BARRIER=0",
        *NCCL_NOTES,
        *[f"export {k}={shlex.quote(v)}" for k, v in sorted(command.env.items())],
        "# Tokenize once, on one node, before training: the nodes then read the cache.",
        f"srun --nodes=1 --ntasks=1 {shlex.join(preprocess)}",
        "# One task per node; each passes its own rank. Single quotes: the node expands them.",
        f"srun --nodes=\"$SLURM_NNODES\" --ntasks-per-node=1 bash -c '{slurm_line(command)}'",
    ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class SlurmOptions:
    job_name: str
    cpus_per_task: int | None = None
    partition: str | None = None
    time: str | None = None
    account: str | None = None

    def extra_directives(self) -> list[tuple[str, str]]:
        named = (("partition", self.partition), ("time", self.time), ("account", self.account))
        return [(name, value) for name, value in named if value]


def default_cpus(layout: Layout) -> int:
    """Cores for the one task of a node: its processes' data loaders and the main loops."""
    return CPUS_PER_PROCESS * layout.processes_per_node


def no_pattern(run_dir: Path) -> str:
    """Slurm expands `%j`, `%u`, … in file names: a `%` of the folder's own would change it."""
    if "%" in str(run_dir):
        raise WizardError(
            f"the run folder {str(run_dir)!r} has a '%', which Slurm reads as a file-name pattern",
            "use a run folder whose path has no '%'",
        )
    return str(run_dir)


def job_name(name: str) -> str:
    """The folder name as a job name Slurm and a shell both take as one word."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-")
    return cleaned or "axolotl"


def sbatch_value(value: str, what: str) -> str:
    """A value for an `#SBATCH` line: sbatch splits them at spaces, honours double quotes and
    reads `%` as a pattern; anything it would misread is refused rather than guessed."""
    bad = sorted({ch for ch in value if ch in UNSAFE_IN_SBATCH or ord(ch) < 32})
    if bad:
        shown = ", ".join(repr(ch) for ch in bad)
        raise WizardError(
            f"{what} {value!r} has {shown}, which an #SBATCH line cannot hold safely",
            "use a path (or value) without quotes, newlines, `$`, backticks or backslashes",
        )
    return f'"{value}"' if " " in value else value


def slurm_line(command: LaunchCommand, node_values: dict[str, str] = NODE_VALUES) -> str:
    """The torchrun line with the per-node values read from the scheduler's variables at run
    time (Slurm's by default)."""
    argv = list(command.argv)
    parts: list[str] = []
    index = 0
    while index < len(argv):
        arg = argv[index]
        if arg in node_values and index + 1 < len(argv):
            parts += [arg, node_values[arg]]
            index += 2
            continue
        if "'" in arg:
            raise WizardError(f"cannot put {arg!r} in the sbatch script (it has a single quote)",
                              "rename the path without quotes")  # fmt: skip
        parts.append(_double_quoted(arg))
        index += 1
    return "exec " + " ".join(parts)


_SAFE = re.compile(r"^[\w@%+=:,./-]+$")


def _double_quoted(arg: str) -> str:
    """Quote for the inside of the script's single-quoted `bash -c '…'`: double quotes only."""
    if _SAFE.match(arg):
        return arg
    return '"' + re.sub(r'(["$`\\])', r"\\\1", arg) + '"'


@dataclass(frozen=True)
class Hosts:
    names: list[str]
    slots: list[int]

    def rank_of_this_host(self) -> int | None:
        here = {socket.gethostname(), socket.getfqdn(), "localhost", "127.0.0.1"}
        here |= {name.split(".")[0] for name in tuple(here)}
        for rank, name in enumerate(self.names):
            if name in here or name.split(".")[0] in here:
                return rank
        return None


_HOST_LINE = re.compile(r"^(\S+)(?:\s+slots\s*=\s*(\d+))?\s*$")


def parse_hostfile(path: Path) -> Hosts:
    """DeepSpeed's format: `hostname slots=N` per line, `#` comments, blank lines ignored."""
    text = read_text_file(path, "hostfile", max_bytes=MAX_HOSTFILE_BYTES)
    names: list[str] = []
    slots: list[int] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _HOST_LINE.match(line)
        if not match:
            raise WizardError(f"{path}:{number}: {raw.strip()!r} is not `hostname slots=N`",
                              "one host per line, e.g. `node01 slots=8`")  # fmt: skip
        names.append(match.group(1))
        slots.append(int(match.group(2) or 1))
    if not names:
        raise WizardError(f"{path} lists no hosts", "one host per line, e.g. `node01 slots=8`")
    if len(set(slots)) > 1:
        raise WizardError(f"{path}: hosts have different slots {sorted(set(slots))}",
                          "accelerate runs the same number of processes on every node")  # fmt: skip
    return Hosts(names, slots)
