"""Reference values for harness/distill: every distillation loss on small fixed tensors.

Run: /tmp/tv/bin/python tests/reference/distill_losses.py   (torch 2.x, numpy)

The loss code below is transcribed from the official implementations (RepDistiller,
github.com/HobbitLong/RepDistiller, distiller_zoo/*.py and crd/*.py; mdistiller,
github.com/megvii-research/mdistiller, mdistiller/distillers/DKD.py; DIST_KD,
github.com/hunto/DIST_KD, losses/dist_kd.py; logit-standardization-KD,
github.com/sunshangquan/logit-standardization-KD), with 4-D image maps replaced by our 1-D
[batch, channels, time] maps (adaptive_avg_pool2d → adaptive_avg_pool1d). The Rust tests build the
same inputs from `gen` below and compare with the printed numbers.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F

torch.set_printoptions(precision=8)


def gen(shape, phase, scale=1.0):
    """Deterministic inputs: x[i] = scale * (sin(0.37 i + phase) + 0.1 cos(1.7 i)), C order."""
    n = int(np.prod(shape))
    i = np.arange(n, dtype=np.float64)
    v = scale * (np.sin(0.37 * i + phase) + 0.1 * np.cos(1.7 * i))
    return torch.tensor(v.astype(np.float32)).reshape(shape)


def show(name, value):
    if isinstance(value, torch.Tensor):
        value = value.detach().flatten().tolist()
    if isinstance(value, list):
        print(f"{name} = [{', '.join(repr(float(v)) for v in value)}]")
    else:
        print(f"{name} = {float(value)!r}")


B, K = 4, 5
z_s = gen([B, K], 0.1, 3.0)
z_t = gen([B, K], 1.3, 3.0)
labels = torch.tensor([0, 2, 1, 4])  # class 3 absent from the batch
f_s = gen([B, 3, 6], 0.5)  # student anchor: 3 channels, 6 steps
f_t = gen([B, 5, 6], 2.0)  # teacher anchor: 5 channels, 6 steps
p_s = gen([B, 6], 0.7)  # pooled features of different widths
p_t = gen([B, 10], 2.9)


# KD (Hinton et al. 2015), RepDistiller distiller_zoo/KD.py DistillKL
def distill_kl(y_s, y_t, T):
    p_s = F.log_softmax(y_s / T, dim=1)
    p_t = F.softmax(y_t / T, dim=1)
    return F.kl_div(p_s, p_t, reduction="sum") * (T**2) / y_s.shape[0]


show("kd_t4", distill_kl(z_s, z_t, 4.0))
show("ce", F.cross_entropy(z_s, labels))


# FitNets (Romero et al. 2015), RepDistiller distiller_zoo/FitNet.py HintLoss: MSE after the regressor
show("hint_mse", F.mse_loss(f_s[:, :3], f_t[:, :3]))
# Linear interpolation along time (our adapter when lengths differ)
show("interp_6_to_4", F.interpolate(f_s, size=4, mode="linear", align_corners=False))
show("interp_4_to_6", F.interpolate(gen([1, 2, 4], 0.3), size=6, mode="linear", align_corners=False))


# AT (Zagoruyko & Komodakis 2017), RepDistiller distiller_zoo/AT.py
def at(f, p=2):
    return F.normalize(f.pow(p).mean(1).view(f.size(0), -1))


def at_loss(f_s, f_t, p=2):
    return (at(f_s, p) - at(f_t, p)).pow(2).mean()


show("at", at_loss(f_s, f_t))


# SP (Tung & Mori 2019), RepDistiller distiller_zoo/SP.py
def sp_loss(f_s, f_t):
    bsz = f_s.shape[0]
    f_s = f_s.view(bsz, -1)
    f_t = f_t.view(bsz, -1)
    G_s = torch.nn.functional.normalize(torch.mm(f_s, torch.t(f_s)))
    G_t = torch.nn.functional.normalize(torch.mm(f_t, torch.t(f_t)))
    G_diff = G_t - G_s
    return (G_diff * G_diff).view(-1, 1).sum(0) / (bsz * bsz)


show("sp", sp_loss(f_s, f_t))


# RKD (Park et al. 2019), RepDistiller distiller_zoo/RKD.py
def pdist(e, squared=False, eps=1e-12):
    e_square = e.pow(2).sum(dim=1)
    prod = e @ e.t()
    res = (e_square.unsqueeze(1) + e_square.unsqueeze(0) - 2 * prod).clamp(min=eps)
    if not squared:
        res = res.sqrt()
    res = res.clone()
    res[range(len(e)), range(len(e))] = 0
    return res


def rkd(student, teacher):
    with torch.no_grad():
        t_d = pdist(teacher)
        t_d = t_d / t_d[t_d > 0].mean()
    d = pdist(student)
    d = d / d[d > 0].mean()
    loss_d = F.smooth_l1_loss(d, t_d)
    with torch.no_grad():
        td = teacher.unsqueeze(0) - teacher.unsqueeze(1)
        norm_td = F.normalize(td, p=2, dim=2)
        t_angle = torch.bmm(norm_td, norm_td.transpose(1, 2)).view(-1)
    sd = student.unsqueeze(0) - student.unsqueeze(1)
    norm_sd = F.normalize(sd, p=2, dim=2)
    s_angle = torch.bmm(norm_sd, norm_sd.transpose(1, 2)).view(-1)
    loss_a = F.smooth_l1_loss(s_angle, t_angle)
    return loss_d, loss_a


d, a = rkd(p_s, p_t)
show("rkd_distance", d)
show("rkd_angle", a)
show("rkd_25d_50a", 25 * d + 50 * a)


# PKT (Passalis & Tefas 2018), RepDistiller distiller_zoo/PKT.py
def pkt(output_net, target_net, eps=0.0000001):
    output_net_norm = torch.sqrt(torch.sum(output_net**2, dim=1, keepdim=True))
    output_net = output_net / (output_net_norm + eps)
    output_net[output_net != output_net] = 0
    target_net_norm = torch.sqrt(torch.sum(target_net**2, dim=1, keepdim=True))
    target_net = target_net / (target_net_norm + eps)
    target_net[target_net != target_net] = 0
    model_similarity = torch.mm(output_net, output_net.transpose(0, 1))
    target_similarity = torch.mm(target_net, target_net.transpose(0, 1))
    model_similarity = (model_similarity + 1.0) / 2.0
    target_similarity = (target_similarity + 1.0) / 2.0
    model_similarity = model_similarity / torch.sum(model_similarity, dim=1, keepdim=True)
    target_similarity = target_similarity / torch.sum(target_similarity, dim=1, keepdim=True)
    return torch.mean(target_similarity * torch.log((target_similarity + eps) / (model_similarity + eps)))


show("pkt", pkt(p_s, p_t))


# NST (Huang & Wang 2017), RepDistiller distiller_zoo/NST.py (full_loss=True), 1-D pooling
def poly_kernel(a, b):
    a = a.unsqueeze(1)
    b = b.unsqueeze(2)
    return (a * b).sum(-1).pow(2)


def nst_loss(f_s, f_t):
    s_H, t_H = f_s.shape[2], f_t.shape[2]
    if s_H > t_H:
        f_s = F.adaptive_avg_pool1d(f_s, t_H)
    elif s_H < t_H:
        f_t = F.adaptive_avg_pool1d(f_t, s_H)
    f_s = F.normalize(f_s.view(f_s.shape[0], f_s.shape[1], -1), dim=2)
    f_t = F.normalize(f_t.view(f_t.shape[0], f_t.shape[1], -1), dim=2)
    return poly_kernel(f_t, f_t).mean().detach() + poly_kernel(f_s, f_s).mean() - 2 * poly_kernel(f_s, f_t).mean()


f_s8 = gen([B, 3, 8], 0.5)
f_t4 = gen([B, 5, 4], 2.0)
show("nst_same_length", nst_loss(f_s, f_t))
show("nst_pooled_8_to_4", nst_loss(f_s8, f_t4))

# CRD (Tian et al. 2020), RepDistiller crd/memory.py ContrastMemory + crd/criterion.py ContrastLoss
n_data, D, nce_k, T, momentum = 10, 4, 3, 0.07, 0.5


def l2n(x):
    return x / x.pow(2).sum(1, keepdim=True).pow(0.5)


mem_v1 = l2n(gen([n_data, D], 0.2))  # student-side memory
mem_v2 = l2n(gen([n_data, D], 1.1))  # teacher-side memory
v1 = l2n(gen([B, D], 2.2))  # student embedding (after its head)
v2 = l2n(gen([B, D], 0.4))  # teacher embedding
y = torch.tensor([0, 3, 5, 7])  # dataset indices of the batch
idx = torch.tensor([[0, 2, 4, 9], [3, 1, 1, 8], [5, 0, 6, 2], [7, 9, 3, 4]])  # positive first, then negatives


def contrast_memory(v1, v2, y, idx, memory_v1, memory_v2):
    bsz = v1.size(0)
    weight_v1 = torch.index_select(memory_v1, 0, idx.view(-1)).view(bsz, nce_k + 1, D)
    out_v2 = torch.exp(torch.div(torch.bmm(weight_v1, v2.view(bsz, D, 1)), T))
    weight_v2 = torch.index_select(memory_v2, 0, idx.view(-1)).view(bsz, nce_k + 1, D)
    out_v1 = torch.exp(torch.div(torch.bmm(weight_v2, v1.view(bsz, D, 1)), T))
    Z_v1 = (out_v1.mean() * n_data).item()
    Z_v2 = (out_v2.mean() * n_data).item()
    out_v1 = torch.div(out_v1, Z_v1).contiguous()
    out_v2 = torch.div(out_v2, Z_v2).contiguous()
    with torch.no_grad():
        l_pos = torch.index_select(memory_v1, 0, y.view(-1))
        l_pos.mul_(momentum)
        l_pos.add_(torch.mul(v1, 1 - momentum))
        updated_v1 = l_pos.div(l_pos.pow(2).sum(1, keepdim=True).pow(0.5))
        ab_pos = torch.index_select(memory_v2, 0, y.view(-1))
        ab_pos.mul_(momentum)
        ab_pos.add_(torch.mul(v2, 1 - momentum))
        updated_v2 = ab_pos.div(ab_pos.pow(2).sum(1, keepdim=True).pow(0.5))
    return out_v1, out_v2, Z_v1, Z_v2, updated_v1, updated_v2


def contrast_loss(x, eps=1e-7):
    bsz = x.shape[0]
    m = x.size(1) - 1
    Pn = 1 / float(n_data)
    P_pos = x.select(1, 0)
    log_D1 = torch.div(P_pos, P_pos.add(m * Pn + eps)).log_()
    P_neg = x.narrow(1, 1, m)
    log_D0 = torch.div(P_neg.clone().fill_(m * Pn), P_neg.add(m * Pn + eps)).log_()
    return -(log_D1.sum(0) + log_D0.view(-1, 1).sum(0)) / bsz


out_s, out_t, Z_s, Z_t, up1, up2 = contrast_memory(v1, v2, y, idx, mem_v1, mem_v2)
show("crd_z_v1", Z_s)
show("crd_z_v2", Z_t)
show("crd_loss", contrast_loss(out_s) + contrast_loss(out_t))
show("crd_updated_v1", up1)
show("crd_updated_v2", up2)


# DKD (Zhao et al. 2022), mdistiller/distillers/DKD.py
def _get_gt_mask(logits, target):
    target = target.reshape(-1)
    return torch.zeros_like(logits).scatter_(1, target.unsqueeze(1), 1).bool()


def _get_other_mask(logits, target):
    target = target.reshape(-1)
    return torch.ones_like(logits).scatter_(1, target.unsqueeze(1), 0).bool()


def cat_mask(t, mask1, mask2):
    t1 = (t * mask1).sum(dim=1, keepdims=True)
    t2 = (t * mask2).sum(1, keepdims=True)
    return torch.cat([t1, t2], dim=1)


def dkd_loss(logits_student, logits_teacher, target, alpha, beta, temperature):
    gt_mask = _get_gt_mask(logits_student, target)
    other_mask = _get_other_mask(logits_student, target)
    pred_student = F.softmax(logits_student / temperature, dim=1)
    pred_teacher = F.softmax(logits_teacher / temperature, dim=1)
    pred_student = cat_mask(pred_student, gt_mask, other_mask)
    pred_teacher = cat_mask(pred_teacher, gt_mask, other_mask)
    log_pred_student = torch.log(pred_student)
    tckd_loss = F.kl_div(log_pred_student, pred_teacher, reduction="sum") * (temperature**2) / target.shape[0]
    pred_teacher_part2 = F.softmax(logits_teacher / temperature - 1000.0 * gt_mask, dim=1)
    log_pred_student_part2 = F.log_softmax(logits_student / temperature - 1000.0 * gt_mask, dim=1)
    nckd_loss = F.kl_div(log_pred_student_part2, pred_teacher_part2, reduction="sum") * (temperature**2) / target.shape[0]
    return alpha * tckd_loss + beta * nckd_loss, tckd_loss, nckd_loss


total, tckd, nckd = dkd_loss(z_s, z_t, labels, 1.0, 8.0, 4.0)
show("dkd_tckd", tckd)
show("dkd_nckd", nckd)
show("dkd_a1_b8", total)


# DIST (Huang et al. 2022), DIST_KD losses/dist_kd.py
def cosine_similarity(a, b, eps=1e-8):
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1) + eps)


def pearson_correlation(a, b, eps=1e-8):
    return cosine_similarity(a - a.mean(1).unsqueeze(1), b - b.mean(1).unsqueeze(1), eps)


def inter_class_relation(y_s, y_t):
    return 1 - pearson_correlation(y_s, y_t).mean()


def intra_class_relation(y_s, y_t):
    return inter_class_relation(y_s.transpose(0, 1), y_t.transpose(0, 1))


def dist(z_s, z_t, beta=1.0, gamma=1.0, tau=1.0):
    y_s = (z_s / tau).softmax(dim=1)
    y_t = (z_t / tau).softmax(dim=1)
    inter_loss = tau**2 * inter_class_relation(y_s, y_t)
    intra_loss = tau**2 * intra_class_relation(y_s, y_t)
    return beta * inter_loss + gamma * intra_loss


show("dist_tau1", dist(z_s, z_t))
show("dist_tau4", dist(z_s, z_t, tau=4.0))


# Logit standardization (Sun et al. 2024), logit-standardization-KD mdistiller/distillers/KD.py
def normalize(logit):
    mean = logit.mean(dim=-1, keepdims=True)
    stdv = logit.std(dim=-1, keepdims=True)
    return (logit - mean) / (1e-7 + stdv)


def ls_kd(logits_student_in, logits_teacher_in, temperature):
    logits_student = normalize(logits_student_in)
    logits_teacher = normalize(logits_teacher_in)
    log_pred_student = F.log_softmax(logits_student / temperature, dim=1)
    pred_teacher = F.softmax(logits_teacher / temperature, dim=1)
    loss_kd = F.kl_div(log_pred_student, pred_teacher, reduction="none").sum(1).mean()
    return loss_kd * temperature**2


show("ls_kd_t2", ls_kd(z_s, z_t, 2.0))


# CC (Peng et al. 2019), RepDistiller distiller_zoo/CC.py Correlation (on the embedded features)
def cc(f_s, f_t):
    delta = torch.abs(f_s - f_t)
    return torch.mean((delta[:-1] * delta[1:]).sum(1))


e_s, e_t = gen([B, 6], 0.7), gen([B, 6], 2.9)
show("cc", cc(e_s, e_t))


# VID (Ahn et al. 2019), RepDistiller distiller_zoo/VID.py, given the regressor's output
def vid_nll(pred_mean, target, log_scale, eps=1e-5):
    pred_var = torch.log(1.0 + torch.exp(log_scale)) + eps
    pred_var = pred_var.view(1, -1, 1)
    neg_log_prob = 0.5 * ((pred_mean - target) ** 2 / pred_var + torch.log(pred_var))
    return torch.mean(neg_log_prob)


init_pred_var, eps = 5.0, 1e-5
log_scale = math.log(math.exp(init_pred_var - eps) - 1.0) * torch.ones(5)
show("vid_init_log_scale", log_scale[0])
show("vid", vid_nll(gen([B, 5, 6], 0.5), f_t, log_scale))
show("vid_varied_scale", vid_nll(gen([B, 5, 6], 0.5), f_t, gen([5], 0.9)))


# FSP (Yim et al. 2017), RepDistiller distiller_zoo/FSP.py, 1-D pooling
def compute_fsp(g):
    fsp_list = []
    for i in range(len(g) - 1):
        bot, top = g[i], g[i + 1]
        b_H, t_H = bot.shape[2], top.shape[2]
        if b_H > t_H:
            bot = F.adaptive_avg_pool1d(bot, t_H)
        elif b_H < t_H:
            top = F.adaptive_avg_pool1d(top, b_H)
        bot = bot.unsqueeze(1)
        top = top.unsqueeze(2)
        bot = bot.view(bot.shape[0], bot.shape[1], bot.shape[2], -1)
        top = top.view(top.shape[0], top.shape[1], top.shape[2], -1)
        fsp_list.append((bot * top).mean(-1))
    return fsp_list


g_s = [gen([B, 3, 8], 0.1), gen([B, 4, 4], 0.2), gen([B, 2, 2], 0.3)]
g_t = [gen([B, 3, 8], 1.1), gen([B, 4, 4], 1.2), gen([B, 2, 2], 1.3)]
show("fsp", sum((s - t).pow(2).mean() for s, t in zip(compute_fsp(g_s), compute_fsp(g_t))))


# FT (Kim et al. 2018), RepDistiller distiller_zoo/FT.py FactorTransfer (p1=2, p2=1), 1-D pooling
def factor(f, p1=2):
    return F.normalize(f.pow(p1).mean(1).view(f.size(0), -1))


def ft_loss(f_s, f_t):
    s_H, t_H = f_s.shape[2], f_t.shape[2]
    if s_H > t_H:
        f_s = F.adaptive_avg_pool1d(f_s, t_H)
    elif s_H < t_H:
        f_t = F.adaptive_avg_pool1d(f_t, s_H)
    return (factor(f_s) - factor(f_t)).abs().mean()


show("ft", ft_loss(gen([B, 3, 8], 0.5), gen([B, 5, 4], 2.0)))


# AB (Heo et al. 2019), RepDistiller distiller_zoo/AB.py ABLoss (margin 1.0), two stages
def ab_criterion(source, target, margin=1.0):
    loss = (source + margin) ** 2 * ((source > -margin) & (target <= 0)).float() + (source - margin) ** 2 * (
        (source <= margin) & (target > 0)
    ).float()
    return torch.abs(loss).sum()


def ab_loss(g_s, g_t, margin=1.0):
    feat_num = len(g_s)
    w = [2 ** (i - feat_num + 1) for i in range(feat_num)]
    bsz = g_s[0].shape[0]
    losses = [ab_criterion(s, t, margin) for s, t in zip(g_s, g_t)]
    losses = [wi * l for wi, l in zip(w, losses)]
    losses = [l / bsz for l in losses]
    losses = [l / 1000 * 3 for l in losses]
    return sum(losses)


show("ab", ab_loss([gen([B, 5, 6], 0.5, 1.5), gen([B, 5, 3], 1.1, 1.5)], [gen([B, 5, 6], 2.0), gen([B, 5, 3], 2.7)]))
show("ab_margin_half", ab_loss([gen([B, 5, 6], 0.5, 1.5)], [gen([B, 5, 6], 2.0)], margin=0.5))


# ReviewKD (Chen et al. 2021), mdistiller distillers/ReviewKD.py hcl_loss, 2-D pools → 1-D
def hcl_loss(fstudent, fteacher):
    loss_all = 0.0
    for fs, ft in zip(fstudent, fteacher):
        h = fs.shape[2]
        loss = F.mse_loss(fs, ft, reduction="mean")
        cnt = 1.0
        tot = 1.0
        for l in [4, 2, 1]:
            if l >= h:
                continue
            tmpfs = F.adaptive_avg_pool1d(fs, l)
            tmpft = F.adaptive_avg_pool1d(ft, l)
            cnt /= 2.0
            loss += F.mse_loss(tmpfs, tmpft, reduction="mean") * cnt
            tot += cnt
        loss = loss / tot
        loss_all = loss_all + loss
    return loss_all


show(
    "hcl",
    hcl_loss(
        [gen([B, 5, 6], 0.5), gen([B, 5, 3], 1.1), gen([B, 10, 1], 0.3)],
        [gen([B, 5, 6], 2.0), gen([B, 5, 3], 2.7), gen([B, 10, 1], 1.9)],
    ),
)
# ABF's nearest resizing (F.interpolate mode="nearest") and its attention fusion
show("nearest_3_to_7", F.interpolate(gen([1, 2, 3], 0.4), size=7, mode="nearest"))
show("nearest_6_to_4", F.interpolate(gen([1, 2, 6], 0.4), size=4, mode="nearest"))
abf_x, abf_y, abf_z = gen([2, 3, 4], 0.2), gen([2, 3, 4], 1.0), torch.sigmoid(gen([2, 2, 4], 0.6))
show("abf_fuse", abf_x * abf_z[:, 0].view(2, 1, 4) + abf_y * abf_z[:, 1].view(2, 1, 4))
