"""Reference values transcribed, in PyTorch (float64 throughout), from the SMLDist authors' released
code and the two third-party pieces it runs on, for the Rust ports that reproduce the authors' recipe.

Sources (read at the commits named):
  * SMLDist, github.com/chenrz925/SMLDist @ 8903617
      - tasnem_har/models/classifier.py   SelfAdaptiveIntuitionMemoryHead (SIMH): __init__ l.16-45
        (Hopfield(in, in, K, update_steps_max, update_steps_eps) l.37-40, intuition Linear l.41,
        mixture weight [0, 0] l.42-43), forward l.47-69, compress()/pruned forward l.71-88.
      - tasnem_har/models/loss_functions.py  HintonCrossEntropyLoss l.6-40 (defaults ratio 1.0,
        temperature 1.0, reduction 'mean', l.7; _cross_entropy l.33-40) and
        LogitsDistillingLoss l.43-76 (hardness_factor default 1, l.55-56; forward l.58-76).
      - tasnem_har/tasks/__init__.py  teacher metric/loss nn.CrossEntropyLoss l.65 (the teacher's
        loss is torch.nn.CrossEntropyLoss per examples/train_realworld.toml l.262-263, applied to the
        SIMH training output y_f); scheduler.step(engine_.state.output) l.139-140 and l.308-309.
      - examples/train_realworld.toml l.245-261 (and 358-374): SIMH update_steps_max 2, eps 1e-2;
        pytorch_ranger.Ranger lr 1e-3; ReduceLROnPlateau patience 5, factor 0.85, cooldown 5,
        threshold 1e-7, mode "min", min_lr 1e-5.
  * hflayers, github.com/ml-jku/hopfield-layers @ 6b0dc008 (the authors' git submodule)
      - hflayers/__init__.py  Hopfield.__init__ l.17-136 (three affine LayerNorms l.101-125, scaling
        1/sqrt(head_dim) l.132), _maybe_transpose l.149-157, _associate l.159-205, forward l.207-224.
      - hflayers/activation.py  HopfieldCore.__init__ (_qkv_same_embed_dim l.93-94, in_proj_weight
        [3F, F] l.141-145, in_proj_bias l.152-155, out_proj l.158-164), forward l.320-334.
      - hflayers/functional.py  hopfield_core_forward: argument set-up l.138-177, the update loop
        l.184-429 (projection branches chosen by torch.equal l.188-258, state update l.331-334,
        scaling l.336-340, reshape l.366-382, association l.397, softmax l.414-419, stopping rule
        l.421-429), output l.435-441.
  * pytorch-ranger 0.1.1 (github.com/mpariente/Ranger-Deep-Learning-Optimizer, tag v0.1.1),
    pytorch_ranger/ranger.py: defaults l.55-65, step l.121-216.
  * torch.optim.lr_scheduler.ReduceLROnPlateau is used as is (the authors use torch's class).
  * the stage phases' loss, torch.nn.MSELoss() of the prefix outputs (tasks/__init__.py l.202-249).

The math is transcribed, not copied; comments cite file:line. Differences from the originals that
do not change a value: the deprecated add_/addcmul_/addcdiv_(scalar, tensor) overloads are written
with the modern keyword signatures, Ranger's `.float()` casts (ranger.py l.140, l.145) are dropped so
the float64 parameters stay float64 (for a float32 parameter `.float()` is the identity, which is
what the authors ran), and only the hflayers paths the SIMH reaches are transcribed (one head, no
masks, no static patterns, no bias_k/v, dropout 0).

Run: bench/.venv/bin/python tests/reference/authors_smldist.py   (torch only; output is kept in
tests/reference/authors_smldist.out)

Consumers: harness/distill/tests/authors_code.rs (SIMH head and LogitsDistillingLoss) and
harness/train/tests/authors_recipe.rs (Ranger and ReduceLROnPlateau). They rebuild the same inputs
from `gen` and compare with the printed numbers.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F

DT = torch.float64


def gen(shape, phase, scale=1.0):
    """x[i] = scale * (sin(0.37 i + phase) + 0.1 cos(1.7 i)), C order, rounded to float32."""
    n = int(np.prod(shape))
    i = np.arange(n, dtype=np.float64)
    v = scale * (np.sin(0.37 * i + phase) + 0.1 * np.cos(1.7 * i))
    return torch.tensor(v.astype(np.float32).astype(np.float64).reshape(shape), dtype=DT)


def show(name, value):
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    value = np.asarray(value, dtype=np.float64)
    if value.ndim == 0:
        print(f"pub const {name.upper()}: f64 = {float(value)!r};")
    else:
        flat = ", ".join(repr(float(v)) for v in value.flatten())
        print(f"pub const {name.upper()}: [f64; {value.size}] = [{flat}];")


print(f"// torch {torch.__version__}")

# ------------------------------------------------------------------------------------------------
# 1. SIMH head: Hopfield memory + intuition Linear, mixed by softmax(w).
# ------------------------------------------------------------------------------------------------
NF, K, B = 6, 3, 4


def leaf(t):
    return t.clone().detach().requires_grad_(True)


ln_w0, ln_b0 = 1 + 0.1 * gen([NF], 0.2), 0.1 * gen([NF], 0.4)
P = {
    # hflayers __init__.py l.105-125: norm_stored_pattern, norm_state_pattern, norm_pattern_projection
    # (separate modules; here given the same values, as they are at initialisation: ones/zeros).
    "ln_stored_w": leaf(ln_w0), "ln_stored_b": leaf(ln_b0),
    "ln_state_w": leaf(ln_w0), "ln_state_b": leaf(ln_b0),
    "ln_proj_w": leaf(ln_w0), "ln_proj_b": leaf(ln_b0),
    # activation.py l.141-155: in_proj_weight rows [q; k; v], in_proj_bias likewise.
    "in_w": leaf(torch.cat([gen([NF, NF], 0.15, 0.3), gen([NF, NF], 0.25, 0.3), gen([NF, NF], 0.5, 0.3)])),
    "in_b": leaf(torch.cat([gen([NF], 0.35, 0.1), gen([NF], 0.45, 0.1), gen([NF], 0.6, 0.1)])),
    # activation.py l.158-164: out_proj Linear(pattern_dim = F, out_dim = K) with bias.
    "out_w": leaf(gen([K, NF], 0.7, 0.3)), "out_b": leaf(gen([K], 0.8, 0.1)),
    # classifier.py l.41-43: intuition Linear(F, K) and the mixture parameter `weight` [2].
    "int_w": leaf(gen([K, NF], 0.9, 0.3)), "int_b": leaf(gen([K], 1.0, 0.1)),
    "w": leaf(torch.tensor([0.3, -0.2], dtype=DT)),
}
x = gen([B, NF], 1.2, 1.0)
y = torch.tensor([0, 2, 1, 2])


def hopfield_core_forward(query, key, value, P, scaling, update_steps_max, update_steps_eps, info):
    """functional.py hopfield_core_forward for num_heads 1, in_proj_weight (not separate weights)."""
    num_heads = 1
    tgt_len, bsz, embed_dim = query.shape[0], value.shape[1], query.shape[2]   # l.138
    head_dim = embed_dim                      # HopfieldCore passes head_dim = hidden_size = F
    hopfield_dim = num_heads * head_dim       # l.168; pattern_dim = head_dim (l.171-172)
    # l.150-151 / l.160-162: per-head tensors for the step limit and threshold.
    update_steps_max = torch.tensor([update_steps_max] * num_heads, dtype=torch.int32)
    update_steps_eps = torch.tensor([update_steps_eps] * num_heads, dtype=query.dtype)
    in_w, in_b = P["in_w"], P["in_b"]

    q = k = v = xi = None                     # l.175-177
    update_step, xi_old = 0, None
    active = torch.tensor([[[True]]] * num_heads * bsz)
    passes = 0
    while active.any():                       # l.184
        if update_step == 0:
            # l.191-258: the branch is chosen by comparing the *values* of the three inputs.
            if torch.equal(query, key) and torch.equal(key, value):
                info["branch"] = "self-attention (l.191-194): q, k, v all projected from `query`"
                q, k, v = F.linear(query, in_w, in_b).chunk(3, dim=-1)
            elif torch.equal(key, value):
                info["branch"] = "encoder-decoder (l.196-222): k, v both projected from `key`"
                q = F.linear(query, in_w[:hopfield_dim], in_b[:hopfield_dim])
                k, v = F.linear(key, in_w[hopfield_dim:], in_b[hopfield_dim:]).chunk(2, dim=-1)
            else:
                info["branch"] = "separate (l.224-258)"
                q = F.linear(query, in_w[:hopfield_dim], in_b[:hopfield_dim])
                k = F.linear(key, in_w[hopfield_dim:2 * hopfield_dim], in_b[hopfield_dim:2 * hopfield_dim])
                v = F.linear(value, in_w[2 * hopfield_dim:], in_b[2 * hopfield_dim:])
        else:
            # l.331-334: new state pattern xi @ K for the heads still active.
            active_xi = xi.masked_select(mask=active).view(size=(-1, *xi.shape[1:]))
            active_k = k.masked_select(mask=active).view(size=(-1, *k.shape[1:]))
            q = torch.masked_scatter(input=q, mask=active, source=torch.bmm(active_xi, active_k))
        q = q * scaling                       # l.337-338 (scaling is a float), every pass
        if update_step == 0:                  # l.366-382
            q = q.contiguous().view(tgt_len, -1, head_dim).transpose(0, 1)
            k = k.contiguous().view(-1, bsz * num_heads, head_dim).transpose(0, 1)
            v = v.contiguous().view(v.shape[0], bsz * num_heads, -1).transpose(0, 1)
        src_len = k.size(1)
        attn = torch.bmm(q, k.transpose(1, 2))                      # l.397, [B*H, L, S]
        if xi is None:                                              # l.415-419
            xi = F.softmax(attn, dim=-1)
        else:
            xi = torch.masked_scatter(input=xi, mask=active, source=F.softmax(
                attn.masked_select(mask=active).view(size=(-1, *xi.shape[1:])), dim=-1))
        passes += 1
        with torch.no_grad():                                       # l.422-428 stopping rule
            xi_active = xi.view(size=(bsz, num_heads, tgt_len, src_len))
            active = (update_step < update_steps_max) | (update_steps_max < 0)
            if xi_old is not None:
                # largest (over the batch) L2 change of the association matrix, per head
                active &= (xi_old - xi_active).norm(p=2, dim=(2, 3)).max(axis=0)[0] > update_steps_eps
            active = active.unsqueeze(dim=1).unsqueeze(dim=2).repeat(bsz, 1, 1)
            xi_old = xi_active
        update_step += 1                                            # l.429
    info["passes"] = passes
    info["xi"] = xi.detach()
    out = torch.bmm(xi, v)                    # l.435-436 (dropout p = 0)
    out = out.transpose(0, 1).contiguous().view(tgt_len, bsz, -1)   # l.438
    return F.linear(out, P["out_w"], P["out_b"])                     # l.439-441


def hopfield(inp, P, info, update_steps_max=2, update_steps_eps=1e-2):
    """hflayers Hopfield.forward -> _associate (batch_first, the same tensor as all three inputs)."""
    stored, state, proj = inp.transpose(0, 1), inp.transpose(0, 1), inp.transpose(0, 1)  # l.176-183

    def norm(t, w, b):                        # l.186-198: LayerNorm(F, eps 1e-5) on reshape(-1, F)
        return F.layer_norm(t.reshape(-1, t.shape[2]), (t.shape[2],), w, b, 1e-5).reshape(t.shape)

    stored = norm(stored, P["ln_stored_w"], P["ln_stored_b"])
    state = norm(state, P["ln_state_w"], P["ln_state_b"])
    proj = norm(proj, P["ln_proj_w"], P["ln_proj_b"])
    scaling = 1.0 / math.sqrt(NF)             # __init__.py l.132, head_dim = hidden_size = F
    out = hopfield_core_forward(state, stored, proj, P, scaling, update_steps_max,  # l.201-205
                                update_steps_eps, info)
    return out.transpose(0, 1)                # l.218 _maybe_transpose back to [B, L, K]


def simh(x, P, info, training):
    """classifier.py SelfAdaptiveIntuitionMemoryHead.forward, l.47-69 (eval_mode 'M')."""
    b, c = x.shape
    y_h = hopfield(x.view(b, 1, c), P, info)                        # l.52, [B, 1, K]
    y_l = F.linear(x, P["int_w"], P["int_b"]).view(b, 1, K)         # l.53
    y_c = torch.cat((y_h, y_l), dim=1)                              # l.54
    y_w = P["w"].softmax(0).view(1, 2, 1).expand(b, 2, K) * y_c.softmax(-1)   # l.56-57
    y_f = y_w[:, 0, :] + y_w[:, 1, :]                               # l.58
    return y_f if training else y_h[:, 0, :]                        # l.59-65


info = {}
y_f = simh(x, P, info, training=True)
eval_logits = simh(x, P, {}, training=False)
print(f"// hopfield branch: {info['branch']}; passes of the update loop: {info['passes']}; "
      f"association matrix (one stored pattern) = {info['xi'].flatten().tolist()}")

# The length-1 identity: memory = out_proj(W_v LN_proj(x) + b_v).
ln_x = F.layer_norm(x, (NF,), P["ln_proj_w"], P["ln_proj_b"], 1e-5)
ident = F.linear(F.linear(ln_x, P["in_w"][2 * NF:], P["in_b"][2 * NF:]), P["out_w"], P["out_b"])
assert (ident - eval_logits).abs().max().item() < 1e-12

ce = torch.nn.CrossEntropyLoss()(y_f, y)      # the teacher's loss, on y_f as if it were logits
ce.backward()
show("simh_eval_logits", eval_logits)
show("simh_train_output", y_f)
show("simh_teacher_ce", ce)
show("simh_grad_w", P["w"].grad)
show("simh_grad_intuition_bias", P["int_b"].grad)
show("simh_grad_out_bias", P["out_b"].grad)
show("simh_grad_v_bias", P["in_b"].grad[2 * NF:])
show("simh_grad_q_bias", P["in_b"].grad[:NF])
assert P["in_b"].grad[:2 * NF].abs().max().item() == 0.0   # q and k get exactly zero (softmax of 1)
# In the self-attention branch v is computed from norm_state_pattern's output, so that LayerNorm
# gets the value-path gradient and norm_pattern_projection (and norm_stored_pattern) get none.
assert P["ln_proj_w"].grad is None and P["ln_stored_w"].grad is None


def value_path_output(w_ln):
    """y_f rebuilt from the length-1 identity, with w_ln as the value-path LayerNorm weight."""
    ln = F.layer_norm(x, (NF,), w_ln, P["ln_proj_b"], 1e-5)
    mem = F.linear(F.linear(ln, P["in_w"][2 * NF:], P["in_b"][2 * NF:]), P["out_w"], P["out_b"])
    y_c = torch.cat((mem.view(B, 1, K), F.linear(x, P["int_w"], P["int_b"]).view(B, 1, K)), dim=1)
    return (P["w"].softmax(0).view(1, 2, 1) * y_c.softmax(-1)).sum(1)


w_probe = leaf(ln_w0)
g_ln = torch.autograd.grad(torch.nn.CrossEntropyLoss()(value_path_output(w_probe), y), w_probe)[0]
assert (g_ln - P["ln_state_w"].grad).abs().max().item() < 1e-12
print("// SIMH_GRAD_NORM_WEIGHT: gradient w.r.t. the weight of the LayerNorm feeding the value path"
      " (in hflayers' self-attention branch that is norm_state_pattern.weight; "
      "norm_pattern_projection.weight.grad is None)")
show("simh_grad_norm_weight", P["ln_state_w"].grad)
compressed = simh(x, P, {}, training=False).softmax(-1).flatten(1)   # classifier.py l.85-88
show("simh_compressed", compressed)

# Side check (no constants): once norm_state_pattern differs from the other two (after the first
# optimiser step in the authors' training), the encoder-decoder branch takes v from
# norm_stored_pattern's output, not norm_pattern_projection's.
with torch.no_grad():
    P2 = dict(P)
    P2["ln_state_w"] = P["ln_state_w"] + 0.01
    info2 = {}
    out2 = hopfield(x.view(B, 1, NF), P2, info2)[:, 0, :]
    assert info2["branch"].startswith("encoder-decoder")
    assert (out2 - ident).abs().max().item() < 1e-12
    P3 = dict(P)
    P3["ln_proj_b"] = P["ln_proj_b"] + 0.05    # projection norm now differs: third branch
    info3 = {}
    out3 = hopfield(x.view(B, 1, NF), P3, info3)[:, 0, :]
    assert info3["branch"].startswith("separate")
    ln3 = F.layer_norm(x, (NF,), P3["ln_proj_w"], P3["ln_proj_b"], 1e-5)
    ident3 = F.linear(F.linear(ln3, P["in_w"][2 * NF:], P["in_b"][2 * NF:]), P["out_w"], P["out_b"])
    assert (out3 - ident3).abs().max().item() < 1e-12

# ------------------------------------------------------------------------------------------------
# 2. LogitsDistillingLoss (loss_functions.py l.43-76, with HintonCrossEntropyLoss defaults).
# ------------------------------------------------------------------------------------------------


def logits_distilling_loss(y_pred, y_soft, y, hardness_factor=1, ratio=1.0, temperature=1.0):
    num_classes = y_pred.shape[-1]                                            # l.60
    y_pred = (y_pred / y_pred.norm(dim=-1, keepdim=True)).softmax(-1)         # l.65
    y_hard = F.one_hot(y, num_classes).to(DT)                                 # l.66 (float32 there)
    y_soft = (y_soft / y_soft.norm(dim=-1, keepdim=True)).softmax(-1)         # l.67
    wrong = y_soft.argmax(dim=-1) != y                                        # l.69-70
    y_soft[wrong] = y_hard[wrong] * hardness_factor
    y_soft = y_soft.softmax(dim=-1)                                           # l.71 (second softmax)
    y_pred = y_pred.softmax(dim=-1)                                           # l.72 (second softmax)
    y_hard[y_hard > 0.5] = 1.0 / temperature                                  # l.73
    y_hard[y_hard < 0.5] = 1.0 - 1.0 / temperature                            # l.74

    def cross_entropy(t, p):                                                  # l.33-36, 'mean'
        return (-(t * p.log()).sum(-1)).mean()

    return cross_entropy(y_hard, y_pred) + ratio * cross_entropy(y_soft, y_pred)   # l.76


p_student = gen([5, 4], 0.1, 2.0).softmax(-1).requires_grad_(True)   # a mixture of probabilities
t_teacher = gen([5, 4], 0.7, 3.0)                                     # the teacher's memory logits
y_ldl = torch.tensor([0, 1, 2, 3, 1])
wrong_rows = (t_teacher.argmax(-1) != y_ldl).nonzero().flatten().tolist()
print(f"// LDL labels {y_ldl.tolist()}, teacher argmax {t_teacher.argmax(-1).tolist()}, "
      f"teacher wrong on rows {wrong_rows}")
ldl = logits_distilling_loss(p_student, t_teacher.clone(), y_ldl)
ldl.backward()
show("ldl_loss", ldl)
show("ldl_grad", p_student.grad)
with torch.no_grad():
    show("ldl_loss_hardness_half",
         logits_distilling_loss(p_student, t_teacher.clone(), y_ldl, hardness_factor=0.5))

# ------------------------------------------------------------------------------------------------
# 3. Ranger (pytorch_ranger 0.1.1 ranger.py), RAdam + Lookahead.
# ------------------------------------------------------------------------------------------------


class Ranger(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, alpha=0.5, k=6, N_sma_threshhold=5, betas=(.95, 0.999),
                 eps=1e-5, weight_decay=0):                                    # l.55-65
        defaults = dict(lr=lr, alpha=alpha, k=k, step_counter=0, betas=betas,
                        N_sma_threshhold=N_sma_threshhold, eps=eps, weight_decay=weight_decay)
        super().__init__(params, defaults)                                    # l.83-86
        self.N_sma_threshhold = N_sma_threshhold                              # l.89
        self.alpha, self.k = alpha, k                                         # l.99-100
        self.radam_buffer = [[None, None, None] for _ in range(10)]           # l.103
        self.trace = []

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:                                            # l.138-139
                    continue
                grad = p.grad                                                 # l.140 (.float() dropped)
                p_data = p                                                    # l.145 (.float() aliases for fp32)
                state = self.state[p]
                if len(state) == 0:                                           # l.149-161
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p_data)
                    state["exp_avg_sq"] = torch.zeros_like(p_data)
                    state["slow_buffer"] = torch.empty_like(p)
                    state["slow_buffer"].copy_(p)
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                beta1, beta2 = group["betas"]
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)  # l.172
                exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)               # l.174
                state["step"] += 1                                            # l.176
                buffered = self.radam_buffer[int(state["step"] % 10)]         # l.178-195
                if state["step"] == buffered[0]:
                    N_sma, step_size = buffered[1], buffered[2]
                else:
                    buffered[0] = state["step"]
                    beta2_t = beta2 ** state["step"]
                    N_sma_max = 2 / (1 - beta2) - 1
                    N_sma = N_sma_max - 2 * state["step"] * beta2_t / (1 - beta2_t)
                    buffered[1] = N_sma
                    if N_sma > self.N_sma_threshhold:
                        step_size = math.sqrt((1 - beta2_t) * (N_sma - 4) / (N_sma_max - 4) *
                                              (N_sma - 2) / N_sma * N_sma_max / (N_sma_max - 2)
                                              ) / (1 - beta1 ** state["step"])
                    else:
                        step_size = 1.0 / (1 - beta1 ** state["step"])
                    buffered[2] = step_size
                if group["weight_decay"] != 0:                                # l.197-199
                    p_data.add_(p_data, alpha=-group["weight_decay"] * group["lr"])
                if N_sma > self.N_sma_threshhold:                             # l.201-206
                    denom = exp_avg_sq.sqrt().add_(group["eps"])
                    p_data.addcdiv_(exp_avg, denom, value=-step_size * group["lr"])
                else:
                    p_data.add_(exp_avg, alpha=-step_size * group["lr"])
                p.copy_(p_data)                                               # l.208
                lookahead = state["step"] % group["k"] == 0
                if lookahead:                                                 # l.212-215
                    slow_p = state["slow_buffer"]
                    slow_p.add_(p - slow_p, alpha=self.alpha)
                    p.copy_(slow_p)
                self.trace.append((state["step"], N_sma, step_size, lookahead))
        return None


def run_ranger(weight_decay):
    p = torch.nn.Parameter(gen([3, 4], 0.2, 1.0))
    opt = Ranger([p], lr=0.01, weight_decay=weight_decay)
    out = []
    for t in range(1, 9):
        p.grad = gen([3, 4], 0.5 + 0.1 * t, 1.0)
        opt.step()
        out.append(p.detach().clone())
    return torch.stack(out), opt.trace


ranger_params, trace = run_ranger(0.0)
print("// ranger per step (step, N_sma, step_size, lookahead): "
      + "; ".join(f"({s}, {n!r}, {ss!r}, {la})" for s, n, ss, la in trace))
show("ranger_params", ranger_params)
show("ranger_params_wd", run_ranger(0.1)[0])

# ------------------------------------------------------------------------------------------------
# 4. ReduceLROnPlateau as the authors configure it (toml l.252-261), stepped once per epoch.
# ------------------------------------------------------------------------------------------------
losses = [1.0 / (1 + e) if e < 5 else 0.2 + 0.01 * math.sin(e) for e in range(60)]


def run_plateau(min_lr):
    dummy = torch.nn.Parameter(torch.zeros(1, dtype=DT))
    opt = torch.optim.SGD([dummy], lr=1e-3)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, mode="min", factor=0.85, patience=5, cooldown=5, threshold=1e-7,
        threshold_mode="rel", min_lr=min_lr)
    lrs = []
    for loss in losses:
        sched.step(loss)
        lrs.append(opt.param_groups[0]["lr"])
    return lrs


show("plateau_losses", losses)
show("plateau_lrs", run_plateau(1e-5))
show("plateau_lrs_min", run_plateau(7e-4))

# ------------------------------------------------------------------------------------------------
# 5. A stage phase's loss (tasks/__init__.py l.202-249): torch.nn.MSELoss() (mean) between the
#    student's prefix output and the teacher's, anchor features of [B=2, C=3, T=8].
# ------------------------------------------------------------------------------------------------
fs, ft = gen([2, 3, 8], 0.3, 1.0).requires_grad_(), gen([2, 3, 8], 1.1, 0.8)
stage = torch.nn.MSELoss()(fs, ft)
stage.backward()
show("stage_phase_mse", stage.detach())
show("stage_phase_grad", fs.grad)
