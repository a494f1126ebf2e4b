//! Every loss against the official implementations, on small fixed tensors.
//!
//! Reference numbers: `/tmp/tv/bin/python tests/reference/distill_losses.py` (torch 2.15, from
//! the repository root); each constant below is pasted from its output under the same name.

use burn::tensor::{Int, Tensor, TensorData};
use harbench_distill::methods::{ab, at, cc, crd, dist, dkd, fsp, ft, logit_std, nst, pkt, reviewkd, rkd, sp, vid};
use harbench_distill::ops::{mse, soft_kl};
use harbench_models::device::test_device;

/// The script's `gen`: `scale · (sin(0.37 i + phase) + 0.1 cos(1.7 i))`, C order.
fn gen<const D: usize>(shape: [usize; D], phase: f64, scale: f64) -> Tensor<D> {
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|i| (scale * ((0.37 * i as f64 + phase).sin() + 0.1 * (1.7 * i as f64).cos())) as f32).collect();
    Tensor::from_data(TensorData::new(v, shape), &test_device())
}

fn scalar(t: Tensor<1>) -> f64 {
    t.into_scalar::<f32>() as f64
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

fn close(mine: f64, theirs: f64, what: &str) {
    let tol = 5e-5 * theirs.abs().max(1.0);
    assert!((mine - theirs).abs() <= tol, "{what}: {mine} vs reference {theirs}");
}

fn labels() -> Tensor<1, Int> {
    Tensor::from_data(TensorData::new(vec![0i64, 2, 1, 4], [4]), &test_device())
}

fn logits() -> (Tensor<2>, Tensor<2>) {
    (gen([4, 5], 0.1, 3.0), gen([4, 5], 1.3, 3.0))
}

fn anchors() -> (Tensor<3>, Tensor<3>) {
    (gen([4, 3, 6], 0.5, 1.0), gen([4, 5, 6], 2.0, 1.0))
}

fn pooled() -> (Tensor<2>, Tensor<2>) {
    (gen([4, 6], 0.7, 1.0), gen([4, 10], 2.9, 1.0))
}

#[test]
fn kd_and_logit_standardization() {
    let (zs, zt) = logits();
    close(scalar(soft_kl(zs.clone(), zt.clone(), 4.0)), 0.7731398940086365, "kd_t4");
    close(scalar(logit_std::ls_kd(zs, zt, 2.0)), 0.6589388847351074, "ls_kd_t2");
}

#[test]
fn fitnets_hint_mse() {
    let (fs, ft) = anchors();
    close(scalar(mse(fs, ft.narrow(1, 0, 3))), 1.0960464477539062, "hint_mse");
}

#[test]
fn attention_transfer() {
    let (fs, ft) = anchors();
    close(scalar(at::at_loss(fs, ft, 2.0)), 0.00921576377004385, "at");
}

#[test]
fn similarity_preserving() {
    let (fs, ft) = anchors();
    close(scalar(sp::sp_loss(fs, ft)), 0.4215461313724518, "sp");
}

#[test]
fn relational_distance_and_angle() {
    let (ps, pt) = pooled();
    close(scalar(rkd::distance_loss(ps.clone(), pt.clone())), 0.06223129853606224, "rkd_distance");
    close(scalar(rkd::angle_loss(ps, pt)), 0.021931355819106102, "rkd_angle");
}

#[test]
fn probabilistic_knowledge_transfer() {
    let (ps, pt) = pooled();
    close(scalar(pkt::pkt_loss(ps, pt)), 0.04916051775217056, "pkt");
}

#[test]
fn neuron_selectivity_transfer_with_and_without_pooling() {
    let (fs, ft) = anchors();
    close(scalar(nst::nst_loss(fs, ft)), 0.05276322364807129, "nst_same_length");
    close(scalar(nst::nst_loss(gen([4, 3, 8], 0.5, 1.0), gen([4, 5, 4], 2.0, 1.0))), 0.5488238334655762, "nst_pooled_8_to_4");
}

#[test]
fn contrastive_memory_loss_and_update() {
    let l2n = |x: Tensor<2>| harbench_distill::ops::l2_normalize(x, 1);
    let mut memory =
        crd::Memory { v1: l2n(gen([10, 4], 0.2, 1.0)), v2: l2n(gen([10, 4], 1.1, 1.0)), z: None, temperature: 0.07, momentum: 0.5 };
    let (v1, v2) = (l2n(gen([4, 4], 2.2, 1.0)).autodiff(), l2n(gen([4, 4], 0.4, 1.0)).autodiff());
    let idx = [0, 2, 4, 9, 3, 1, 1, 8, 5, 0, 6, 2, 7, 9, 3, 4];
    let loss = memory.contrast(v1, v2, &[0, 3, 5, 7], &idx);
    let (z1, z2) = memory.z.unwrap();
    close(z1 / 1191340.5, 1.0, "crd_z_v1");
    close(z2 / 5346372.5, 1.0, "crd_z_v2");
    close(scalar(loss), 30.894630432128906, "crd_loss");
    let rows = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 3, 5, 7], [4]), &test_device());
    let up1 = values(memory.v1.clone().select(0, rows.clone()));
    let up2 = values(memory.v2.clone().select(0, rows));
    let ref1 = [
        0.6552268862724304,
        0.5383211970329285,
        0.37646228075027466,
        0.37304720282554626,
        -0.43508321046829224,
        -0.5837516188621521,
        -0.5496314764022827,
        -0.4096851348876953,
        -0.35258546471595764,
        -0.17086999118328094,
        0.4145561158657074,
        0.8213587999343872,
        -0.7350786328315735,
        -0.35044699907302856,
        0.24124416708946228,
        0.527870774269104,
    ];
    let ref2 = [
        0.4309460520744324,
        0.49131715297698975,
        0.5015710592269897,
        0.566850483417511,
        0.06390222907066345,
        0.04685169458389282,
        0.45751655101776123,
        0.885663628578186,
        0.6016370058059692,
        0.054650116711854935,
        -0.2826266288757324,
        -0.7450962662696838,
        -0.7395535111427307,
        -0.5801230072975159,
        -0.32409462332725525,
        -0.10714759677648544,
    ];
    for i in 0..16 {
        close(up1[i] as f64, ref1[i], &format!("crd_updated_v1[{i}]"));
        close(up2[i] as f64, ref2[i], &format!("crd_updated_v2[{i}]"));
    }
    // Rows outside the batch are untouched.
    let other = Tensor::<1, Int>::from_data(TensorData::new(vec![1i64], [1]), &test_device());
    assert_eq!(values(memory.v1.select(0, other.clone())), values(l2n(gen([10, 4], 0.2, 1.0)).select(0, other)));
}

#[test]
fn decoupled_kd() {
    let (zs, zt) = logits();
    let (tckd, nckd) = dkd::dkd_terms(zs, zt, labels(), 4.0);
    close(scalar(tckd.clone()), 0.30376455187797546, "dkd_tckd");
    close(scalar(nckd.clone()), 0.5843260288238525, "dkd_nckd");
    close(scalar(tckd + nckd * 8.0), 4.978372573852539, "dkd_a1_b8");
}

#[test]
fn dist_relations() {
    let (zs, zt) = logits();
    let (inter, intra) = dist::dist_terms(zs.clone(), zt.clone(), 1.0);
    close(scalar(inter + intra), 1.9067184925079346, "dist_tau1");
    let (inter, intra) = dist::dist_terms(zs, zt, 4.0);
    close(scalar(inter + intra), 27.226083755493164, "dist_tau4");
}

#[test]
fn correlation_congruence() {
    close(scalar(cc::cc_loss(gen([4, 6], 0.7, 1.0), gen([4, 6], 2.9, 1.0))), 6.970195770263672, "cc");
}

#[test]
fn variational_information() {
    let init = vid::initial_log_scale(5.0, 1e-5);
    close(init, 4.993229389190674, "vid_init_log_scale");
    let log_scale = Tensor::<1>::ones([5], &test_device()) * init;
    let (_, ft) = anchors();
    close(scalar(vid::vid_nll(gen([4, 5, 6], 0.5, 1.0), ft.clone(), log_scale, 1e-5)), 0.8969253301620483, "vid");
    close(scalar(vid::vid_nll(gen([4, 5, 6], 0.5, 1.0), ft, gen([5], 0.9, 1.0), 1e-5)), 0.47882401943206787, "vid_varied_scale");
}

#[test]
fn flow_of_solution_procedure() {
    let s = [gen([4, 3, 8], 0.1, 1.0), gen([4, 4, 4], 0.2, 1.0), gen([4, 2, 2], 0.3, 1.0)];
    let t = [gen([4, 3, 8], 1.1, 1.0), gen([4, 4, 4], 1.2, 1.0), gen([4, 2, 2], 1.3, 1.0)];
    close(scalar(fsp::fsp_loss(&s, &t)), 0.29418545961380005, "fsp");
}

#[test]
fn factor_transfer() {
    close(scalar(ft::ft_loss(gen([4, 3, 8], 0.5, 1.0), gen([4, 5, 4], 2.0, 1.0))), 0.24434715509414673, "ft");
}

#[test]
fn activation_boundaries() {
    let s = [gen([4, 5, 6], 0.5, 1.5), gen([4, 5, 3], 1.1, 1.5)];
    let t = [gen([4, 5, 6], 2.0, 1.0), gen([4, 5, 3], 2.7, 1.0)];
    close(scalar(ab::ab_loss(&s, &t, 1.0)), 0.18197889626026154, "ab");
    close(scalar(ab::ab_loss(&s[..1], &t[..1], 0.5)), 0.09576745331287384, "ab_margin_half");
}

#[test]
fn review_hierarchical_context_loss_nearest_resizing_and_fusion() {
    let s = [gen([4, 5, 6], 0.5, 1.0), gen([4, 5, 3], 1.1, 1.0), gen([4, 10, 1], 0.3, 1.0)];
    let t = [gen([4, 5, 6], 2.0, 1.0), gen([4, 5, 3], 2.7, 1.0), gen([4, 10, 1], 1.9, 1.0)];
    close(scalar(reviewkd::hcl_loss(&s, &t)), 2.8735437393188477, "hcl");
    let up = [
        0.4894183278083801,
        0.4894183278083801,
        0.4894183278083801,
        0.6832507848739624,
        0.6832507848739624,
        0.8119536638259888,
        0.8119536638259888,
        1.0359503030776978,
        1.0359503030776978,
        1.0359503030776978,
        1.0395159721374512,
        1.0395159721374512,
        0.7178720235824585,
        0.7178720235824585,
    ];
    for (mine, theirs) in values(reviewkd::resize_nearest(gen([1, 2, 3], 0.4, 1.0), 7)).iter().zip(up) {
        close(*mine as f64, theirs, "nearest_3_to_7");
    }
    let down = [
        0.4894183278083801,
        0.6832507848739624,
        1.0359503030776978,
        1.0395159721374512,
        0.4268350899219513,
        0.22961974143981934,
        -0.6468300223350525,
        -0.8457934260368347,
    ];
    let mine = values(reviewkd::resize_nearest(gen([1, 2, 6], 0.4, 1.0), 4));
    assert_eq!(mine.len(), down.len());
    for (mine, theirs) in mine.iter().zip(down) {
        close(*mine as f64, theirs, "nearest_6_to_4");
    }
    let z = burn::tensor::activation::sigmoid(gen([2, 2, 4], 0.6, 1.0));
    let fused = values(reviewkd::fuse(gen([2, 3, 4], 0.2, 1.0), gen([2, 3, 4], 1.0, 1.0), z));
    let want = [
        0.8780239820480347,
        0.984176516532898,
        1.0006197690963745,
        1.1942112445831299,
        1.2209213972091675,
        0.7184110283851624,
        0.3320465087890625,
        0.13141889870166779,
        -0.46929433941841125,
        -0.978884220123291,
        -1.081352949142456,
        -1.0180675983428955,
        -0.6186965107917786,
        -0.49137669801712036,
        -0.24416224658489227,
        0.05505233258008957,
        0.06653904914855957,
        0.26477178931236267,
        0.5785649418830872,
        0.766506016254425,
        0.5794219970703125,
        0.4628959000110626,
        0.42031019926071167,
        0.16088351607322693,
    ];
    assert_eq!(fused.len(), want.len());
    for (mine, theirs) in fused.iter().zip(want) {
        close(*mine as f64, theirs, "abf_fuse");
    }
}
