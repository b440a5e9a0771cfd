"""Kubernetes through Kubeflow: one file with a ConfigMap and the job (pure: text, nothing runs).

Two APIs: Kubeflow Trainer v2's `TrainJob` on the `torch-distributed` runtime (it runs torchrun
in each node's pod and sets torchrun's `PET_*` variables), or the training-operator v1
`PyTorchJob` (a Master and Workers; it sets `MASTER_ADDR`, `MASTER_PORT` and `RANK`, which the
command passes to torchrun through Kubernetes' own `$(VAR)` expansion, so no shell is involved).

The run's files travel in a ConfigMap mounted at /config; data, the model cache and the outputs
live on a PersistentVolumeClaim mounted at /data. The config's paths are rewritten to those
mounts. Credentials come from a named Secret (`secretKeyRef`), never from this file.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import yaml

from wizard import __version__
from wizard.axolotl import keys as K
from wizard.axolotl.paths import MAYBE_LOCAL_KEYS, is_local_path
from wizard.axolotl.view import AxolotlConfig
from wizard.errors import WizardError
from wizard.files import write_all
from wizard.launch.command import Layout
from wizard.launch.outputs import deepspeed_path
from wizard.launch.target import Target
from wizard.yamlio import dump_yaml, read_text_file

Api = Literal["trainjob", "pytorchjob"]
APIS: tuple[Api, ...] = ("trainjob", "pytorchjob")
CONFIG_MOUNT = "/config"
DATA_MOUNT = "/data"
CONFIG_NAME = "axolotl.yml"
RUN_PATHS = (K.OUTPUT_DIR, K.DATASET_PREPARED_PATH, K.LORA_MODEL_DIR)  # the run's own folders
KUBE_DIR = "kubernetes"
RUNTIME = "torch-distributed"
# runtimePatches came with Trainer v2.2.0 (v2.1 had podTemplateOverrides, which v2.2 removed).
MIN_TRAINER = {"trainjob": "Kubeflow Trainer v2.2.0 or newer", "pytorchjob": "training-operator v1"}
GPU = "nvidia.com/gpu"
# Optional keys of the Secret: a missing key leaves the variable unset instead of failing the pod.
SECRET_KEYS = ("HF_TOKEN", "WANDB_API_KEY")
# RFC 1123 names, as the API server checks them (a label value: 63 characters at most).
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_KEY = re.compile(r"^[-._a-zA-Z0-9]{1,253}$")
_IMAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}$")


@dataclass(frozen=True)
class KubeOptions:
    api: Api
    image: str | None
    pvc: str = "axolotl-data"
    secret: str | None = None


@dataclass
class KubeRun:
    """What the manifest is made from: the names, the files, the layout."""

    name: str
    layout: Layout
    files: dict[str, str]  # ConfigMap keys -> text (axolotl.yml, the DeepSpeed JSON)
    copies: list[tuple[str, str]] = field(default_factory=list)  # local path -> path on the PVC


def k8s_name(folder_name: str) -> str:
    """The run folder's name as an object name: lowercase letters, digits and dashes."""
    cleaned = re.sub(r"[^a-z0-9-]+", "-", folder_name.lower()).strip("-")[:40].strip("-")
    return cleaned or "axolotl"


def checked(options: KubeOptions) -> KubeOptions:
    """Refuse what the API server would refuse, or what could not be written safely."""
    if options.api not in APIS:
        raise WizardError(
            f"--k8s-api {options.api!r} is not one of {', '.join(APIS)}",
            "trainjob: Kubeflow Trainer v2; pytorchjob: training-operator v1",
        )
    if not options.image:
        raise WizardError(
            "--kubernetes needs --image, the container image that has Axolotl",
            "e.g. --image axolotlai/axolotl:main-latest",
        )
    if not _IMAGE.fullmatch(options.image):
        raise WizardError(
            f"--image {options.image!r} is not an image reference",
            "use registry/name:tag, without spaces, quotes or newlines",
        )
    for flag, value in (("--pvc", options.pvc), ("--secret", options.secret)):
        if value is not None and not _NAME.fullmatch(value):
            raise WizardError(
                f"{flag} {value!r} is not a Kubernetes name",
                "lowercase letters, digits and '-', at most 63",
            )
    return options


def mount_paths(
    config: AxolotlConfig, name: str, deepspeed: str | None
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The config with its local paths moved to the mounts, and what to copy to the PVC."""
    out = dict(config.raw)
    places = Places(f"{DATA_MOUNT}/runs/{name}")
    for key in RUN_PATHS:
        value = config.text(key)
        if value:
            out[key] = places.in_run(key, value)
    if not config.has(K.OUTPUT_DIR):
        out[K.OUTPUT_DIR] = places.free(places.run_root, "model-out")
    for key in MAYBE_LOCAL_KEYS:
        value = config.text(key)
        if value and is_local_path(value):
            out[key] = places.copy(value, "models")
    datasets = [_dataset(entry, places.copy) for entry in config.datasets]
    if datasets:
        out[K.DATASETS] = datasets
    else:
        out.pop(K.DATASETS, None)
    if deepspeed is not None:
        out[K.DEEPSPEED] = f"{CONFIG_MOUNT}/{PurePosixPath(deepspeed).name}"
    return out, places.copies


class Places:
    """Where each path goes on the claim: one place for each source (two `train.jsonl` from two
    folders get `train.jsonl` and `train-2.jsonl`), and the run's own folders inside the run's."""

    def __init__(self, run_root: str) -> None:
        self.run_root = run_root
        self.copies: list[tuple[str, str]] = []  # local path -> path on the claim
        self._placed: dict[str, str] = {}
        self._taken: set[str] = set()

    def copy(self, value: str, folder: str) -> str:
        source = posixpath.normpath(value)
        if source not in self._placed:
            self._placed[source] = self.free(f"{DATA_MOUNT}/{folder}",
                                             PurePosixPath(source).name or folder)  # fmt: skip
            self.copies.append((value, self._placed[source]))
        return self._placed[source]

    def in_run(self, key: str, value: str) -> str:
        name = PurePosixPath(posixpath.normpath(value)).name
        if name in ("", ".", ".."):
            raise WizardError(
                f"{key} {value!r} names no folder of its own, and on the claim each of the run's "
                f"folders is {self.run_root}/NAME; nothing was written",
                f"set {key} to a folder inside the run folder, such as ./outputs",
            )
        return self.free(self.run_root, name)

    def free(self, folder: str, name: str) -> str:
        stem, suffix = PurePosixPath(name).stem, PurePosixPath(name).suffix
        place, number = f"{folder}/{name}", 2
        while place in self._taken:
            place, number = f"{folder}/{stem}-{number}{suffix}", number + 1
        self._taken.add(place)
        return place


def _dataset(entry: Any, moved: Callable[[str, str], str]) -> Any:
    if not isinstance(entry, dict):
        return entry
    path = entry.get("path")
    if isinstance(path, str) and is_local_path(path):
        return {**entry, "path": moved(path, "datasets")}
    return entry


def manifest_text(run: KubeRun, options: KubeOptions) -> str:
    """The whole file: a comment block, the ConfigMap, the job."""
    job = trainjob(run, options) if options.api == "trainjob" else pytorchjob(run, options)
    head = [
        f"# Written by axolotl-wizard {__version__}: {run.layout.nodes} node(s) x "
        f"{run.layout.processes_per_node} GPU(s). Apply it: kubectl apply -f <this file>",
        f"# Needs {MIN_TRAINER[options.api]} on the cluster.",
        f"# Needs the PersistentVolumeClaim {options.pvc!r} (mounted at {DATA_MOUNT}) holding:",
        *[f"#   {source} -> {target}" for source, target in run.copies],
        f"# Outputs are written to {DATA_MOUNT}/runs/{run.name}/ on that claim.",
    ]
    if options.secret:
        head.append(f"# HF_TOKEN and WANDB_API_KEY come from the Secret {options.secret!r}.")
    docs = [dump_blocks(configmap(run)), dump_blocks(job)]
    return "\n".join(comment_line(line) for line in head) + "\n---\n" + "---\n".join(docs)


class _Dumper(yaml.SafeDumper):
    """No anchors (each pod spelled out, as kubectl shows it back) and files as `|` blocks."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def dump_blocks(doc: dict[str, Any]) -> str:
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def comment_line(line: str) -> str:
    """A comment line holds no line break (a path with one would end the comment)."""
    return line.replace("\n", "\\n").replace("\r", "\\r")


def configmap(run: KubeRun) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"{run.name}-config", "labels": _labels(run)},
        "data": dict(run.files),
    }


def _labels(run: KubeRun) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "axolotl",
        "app.kubernetes.io/instance": run.name,
        "app.kubernetes.io/managed-by": "axolotl-wizard",
    }


def train_command(api: Api, layout: Layout) -> list[str]:
    """Axolotl's own CLI: `--launcher torchrun` is what these pods run. Trainer v2 gives torchrun
    its layout through `PET_*`; for v1 the operator's variables are passed as flags."""
    command = ["axolotl", "train", f"{CONFIG_MOUNT}/{CONFIG_NAME}", "--launcher", "torchrun"]
    if api == "pytorchjob":
        command += [
            "--",
            f"--nnodes={layout.nodes}",
            f"--nproc_per_node={layout.processes_per_node}",
            "--node_rank=$(RANK)",
            "--master_addr=$(MASTER_ADDR)",
            "--master_port=$(MASTER_PORT)",
        ]
    return command


def _env(options: KubeOptions) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [
        {"name": "HF_HOME", "value": f"{DATA_MOUNT}/hf-home"},  # models downloaded once, kept
        {"name": "TORCH_DIST_INIT_BARRIER", "value": "0"},
    ]
    if options.secret:
        env += [
            {
                "name": key,
                "valueFrom": {
                    "secretKeyRef": {"name": options.secret, "key": key, "optional": True}
                },
            }
            for key in SECRET_KEYS
        ]
    return env


def _volumes(run: KubeRun, options: KubeOptions) -> list[dict[str, Any]]:
    return [
        {"name": "config", "configMap": {"name": f"{run.name}-config"}},
        {"name": "data", "persistentVolumeClaim": {"claimName": options.pvc}},
        # NCCL and the data loaders share memory through /dev/shm; a pod's default is 64 MiB.
        {"name": "dshm", "emptyDir": {"medium": "Memory"}},
    ]


MOUNTS = [
    {"name": "config", "mountPath": CONFIG_MOUNT, "readOnly": True},
    {"name": "data", "mountPath": DATA_MOUNT},
    {"name": "dshm", "mountPath": "/dev/shm"},
]


def trainjob(run: KubeRun, options: KubeOptions) -> dict[str, Any]:
    """Trainer v2: the runtime brings the pods; ours adds the image, command, GPUs, volumes."""
    layout = run.layout
    node = {
        "name": "node",
        "template": {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [{"name": "node", "volumeMounts": MOUNTS}],
                        "volumes": _volumes(run, options),
                    }
                }
            }
        },
    }
    return {
        "apiVersion": "trainer.kubeflow.org/v1alpha1",
        "kind": "TrainJob",
        "metadata": {"name": run.name, "labels": _labels(run)},
        "spec": {
            "runtimeRef": {
                "name": RUNTIME,
                "apiGroup": "trainer.kubeflow.org",
                "kind": "ClusterTrainingRuntime",
            },
            "trainer": {
                "image": options.image,
                "command": train_command("trainjob", layout),
                "env": _env(options),
                "numNodes": layout.nodes,
                "numProcPerNode": layout.processes_per_node,
                "resourcesPerNode": _resources(layout),
            },
            "runtimePatches": [
                {
                    "manager": "axolotl-wizard",
                    "trainingRuntimeSpec": {"template": {"spec": {"replicatedJobs": [node]}}},
                }
            ],
        },
    }


def _resources(layout: Layout) -> dict[str, Any]:
    if layout.cpu:
        return {"requests": {"cpu": str(layout.processes_per_node)}}
    gpus = {GPU: layout.processes_per_node}
    return {"requests": dict(gpus), "limits": dict(gpus)}


def pytorchjob(run: KubeRun, options: KubeOptions) -> dict[str, Any]:
    """training-operator v1: a Master (rank 0) and nodes-1 Workers, the same pod for each."""
    layout = run.layout
    pod = {
        "spec": {
            "containers": [
                {
                    "name": "pytorch",  # the operator finds its container by this name
                    "image": options.image,
                    "command": train_command("pytorchjob", layout),
                    "env": _env(options),
                    "resources": _resources(layout),
                    "volumeMounts": MOUNTS,
                }
            ],
            "volumes": _volumes(run, options),
        }
    }
    replicas: dict[str, Any] = {
        "Master": {"replicas": 1, "restartPolicy": "OnFailure", "template": pod}
    }
    if layout.nodes > 1:
        replicas["Worker"] = {
            "replicas": layout.nodes - 1,
            "restartPolicy": "OnFailure",
            "template": pod,
        }
    return {
        "apiVersion": "kubeflow.org/v1",
        "kind": "PyTorchJob",
        "metadata": {"name": run.name, "labels": _labels(run)},
        "spec": {
            "nprocPerNode": str(layout.processes_per_node),
            "pytorchReplicaSpecs": replicas,
        },
    }


def write_manifest_file(target: Target, layout: Layout, options: KubeOptions, force: bool,
                        dry_run: bool = False) -> tuple[Path, KubeRun, str]:  # fmt: skip
    """`RUN/kubernetes/<name>-<api>.yaml`, atomically, never over an existing one without
    --force; bad options are refused before anything is written (a dry run writes nothing)."""
    options = checked(options)
    name = k8s_name(target.run_dir.name)
    deepspeed = deepspeed_path(target)
    config, copies = mount_paths(target.config, name, deepspeed.name if deepspeed else None)
    files = {
        CONFIG_NAME: f"# the config of the run {name}, its paths moved to the pod's mounts\n"
        + dump_yaml(config)
    }
    if deepspeed is not None:
        if not _KEY.fullmatch(deepspeed.name):
            raise WizardError(
                f"the DeepSpeed file name {deepspeed.name!r} cannot be a ConfigMap key",
                "rename it with letters, digits, '.', '_' or '-' only",
            )
        files[deepspeed.name] = read_text_file(deepspeed, "DeepSpeed config")
    run = KubeRun(name, layout, files, copies)
    path = target.run_dir / KUBE_DIR / f"{name}-{options.api}.yaml"
    text = manifest_text(run, options)
    if not dry_run:
        write_all({path: text}, force=force, folder=target.run_dir)
    return path, run, text
