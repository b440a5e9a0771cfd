"""Activations autograd keeps for the backward pass, and the logits/loss peak.

Counted per token, from what the transformers implementation saves in each op of a decoder layer
(Korthikanti et al. 2022, adapted to RMSNorm, gated MLPs, GQA and flash attention; the
derivation is in the docstrings). Multiply by tokens in a micro batch for bytes.
"""

from __future__ import annotations

from wizard.estimate.terms import adapter_param_bytes, lora_linears
from wizard.estimate.workload import Workload
from wizard.models import ModelArch

# These GELU variants are written as Python expressions in transformers, so autograd keeps
# about four full-size intermediates instead of one.
PYTHON_GELUS = ("gelu_new", "gelu_fast", "gelu_python")


def residual_bytes(spec: Workload) -> int:
    """The residual stream is fp32 when Axolotl left embeddings and norms in fp32."""
    return 4 if spec.upcast_fp32 else spec.compute_bytes


def norm_bytes(arch: ModelArch, spec: Workload) -> float:
    """One norm: HF RMSNorm keeps an fp32 copy of its input, the normalized 16-bit tensor when
    its weight trains, and its output (the next linear's input). LayerNorm and fused kernels keep
    only input and output."""
    h, c = arch.hidden_size, spec.compute_bytes
    if arch.norm == "layer" or spec.fused_kernels:
        return residual_bytes(spec) * h + c * h
    trainable_weight = c * h if spec.method == "full" else 0
    return 4 * h + trainable_weight + c * h


def layer_norms_bytes(arch: ModelArch, spec: Workload) -> float:
    """The norms of one decoder layer. With Axolotl's fp32 upcast the residual stream, the
    normalized tensor and the norm output stay fp32, so autocast makes a 16-bit copy of the
    output for every linear that reads it (q, k, v, gate, up: five for Llama, two for fused
    layouts), each saved for its backward; measured with saved-tensor hooks on LlamaDecoderLayer
    (+10 x hidden bytes per token for Llama against one shared 16-bit output)."""
    if not spec.upcast_fp32 or arch.norm == "layer" or spec.fused_kernels:
        return arch.norms_per_layer * norm_bytes(arch, spec)
    h, c = arch.hidden_size, spec.compute_bytes
    normalized = 4 * h if spec.method == "full" else 0
    readers = sum(1 for lin in arch.linears if lin.reads_hidden and lin.linear and lin.count == 1)
    return arch.norms_per_layer * (4 * h + normalized) + readers * c * h


def attention_bytes(arch: ModelArch, spec: Workload) -> float:
    """Flash/SDPA kernels keep q, k, v (after RoPE) and the output; SDPA and flex also make a
    contiguous copy for o_proj. Eager keeps the s x s scores (fp32 softmax and 16-bit probs)."""
    c, q, kv = spec.compute_bytes, arch.q_dim, arch.kv_dim
    qk_norm = (4 + c) * (q + kv) if arch.qk_norm else 0
    if spec.attention == "flash":
        return c * (q + 2 * kv) + c * q + qk_norm
    if spec.attention == "eager":
        scores = 6 * arch.num_heads * spec.seq_len
        return c * 3 * q + c * 2 * q + scores + qk_norm
    return c * (q + 2 * kv) + 2 * c * q + qk_norm


def mlp_bytes(arch: ModelArch, spec: Workload) -> float:
    """Gated MLP: act input, act output, up output, product (4 tensors of I); fused kernels keep
    3. Plain MLP: act input and output. Mixture of experts: each token through k experts plus the
    router and dispatch copies."""
    c, h = spec.compute_bytes, arch.hidden_size
    inter = arch.intermediate_size
    tensors = (3 if spec.fused_kernels else 4) if arch.mlp == "gated" else 2
    if arch.hidden_act in PYTHON_GELUS and not spec.fused_kernels:
        tensors += 3
    if not arch.is_moe:
        return tensors * c * inter
    moe_inter = arch.moe_intermediate_size or inter
    experts = arch.experts_per_token * tensors * c * moe_inter
    router = 8 * arch.num_experts
    dispatch = 2 * c * h * arch.experts_per_token
    shared = tensors * c * arch.shared_expert_intermediate_size
    return experts + router + dispatch + shared


def lora_bytes(arch: ModelArch, spec: Workload) -> float:
    """Per adapted linear: peft casts the input to the fp32 adapter dtype and autocast saves a
    16-bit copy for lora_A; dropout adds its mask and output. Under DeepSpeed adapters are 16 bit,
    so only dropout costs."""
    if spec.method == "full":
        return 0.0
    cast = adapter_param_bytes(spec) == 4 and spec.compute_bytes == 2
    dropout = spec.lora_dropout > 0
    total = 0.0
    for lin in lora_linears(arch, spec):
        active = lin.count if not arch.is_moe or lin.count == 1 else arch.experts_per_token
        share = active * lin.layers / arch.num_layers  # an average layer: MoE and dense layers mix
        per = lin.fan_in * ((spec.compute_bytes if cast or dropout else 0) + (1 if dropout else 0))
        total += share * (per + 4 * spec.lora_r)
    return total


def layer_bytes(arch: ModelArch, spec: Workload) -> float:
    """Everything one decoder layer keeps for backward, per token."""
    norms = layer_norms_bytes(arch, spec)
    return norms + attention_bytes(arch, spec) + mlp_bytes(arch, spec) + lora_bytes(arch, spec)


def logits_bytes(arch: ModelArch, spec: Workload) -> float:
    """Per token at the loss: transformers upcasts logits to fp32; log_softmax keeps its fp32
    output and its backward adds a gradient and a result of the same size (12 x vocab).
    Axolotl's chunked cross entropy keeps the 16-bit logits (saved by the compiled per-chunk
    loss) and, in backward, the chunks' gradients and their concatenation (4 x vocab); fused
    kernels (Liger, Cut Cross Entropy) never build the logits."""
    if spec.loss == "fused":
        return 2.0 * spec.compute_bytes * arch.hidden_size
    if spec.loss == "chunked_output":
        # torchtune applies the output projection per chunk (modules/transformer.py
        # chunked_output) and compiles only each chunk's upcast + CE (training/_compile.py:52):
        # the 16-bit logits of every chunk are kept, and each chunk's gradient goes straight into
        # its own matmul - no full-size logits gradient, as Axolotl's split of one lm_head output
        # builds (monkeypatch/loss/chunked.py:93-95).
        return (2 + 2 / 8) * arch.vocab_size
    per_vocab = 4 if spec.loss == "chunked" else 12
    return float(per_vocab * arch.vocab_size)


def recompute_bytes(arch: ModelArch, spec: Workload) -> float:
    """With checkpointing, backward re-runs one layer: its activations plus gradient buffers."""
    c = spec.compute_bytes
    return layer_bytes(arch, spec) + 2 * c * (arch.hidden_size + arch.intermediate_size)


def activation_peak(arch: ModelArch, spec: Workload) -> tuple[float, float]:
    """(saved activations, logits/loss) in bytes at the start of the backward pass."""
    tokens = spec.tokens
    final_norm = norm_bytes(arch, spec)
    logits = logits_bytes(arch, spec) * tokens
    if not spec.grad_ckpt:
        return (arch.num_layers * layer_bytes(arch, spec) + final_norm) * tokens, logits
    kept_layers = 2 if spec.activation_offload else arch.num_layers
    inputs = kept_layers * residual_bytes(spec) * arch.hidden_size * tokens
    # The logits backward finishes before the last layer is recomputed: not both at once.
    recompute = recompute_bytes(arch, spec) * tokens
    return inputs + final_norm * tokens + max(0.0, recompute - logits), logits
