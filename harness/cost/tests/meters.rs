//! Energy meters on fake sysfs trees (tests/fixtures/), recorded tegrastats lines, and detection.
//! Every test checks the energy its fixture implies.

use harbench_cost::energy::ina3221::Ina3221;
use harbench_cost::energy::rails::RailSum;
use harbench_cost::energy::rapl::Rapl;
use harbench_cost::energy::tegrastats::{parse_line, Tegrastats};
use harbench_cost::{detect, Choice, EnergyMeter, Probe, Target};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// A writable copy of a fixture tree.
fn copy_tree(from: &Path, to: &Path) {
    harbench_common::fs::copy_tree(from, to).unwrap();
}

/// Replaces a sysfs value atomically, so that the sampler never reads a half-written file.
fn write_value(path: &Path, value: u64) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, format!("{value}\n")).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn part(window: &harbench_cost::EnergyWindow, name: &str) -> f64 {
    window.parts.iter().find(|p| p.0 == name).unwrap_or_else(|| panic!("no part {name} in {:?}", window.parts)).1
}

/// Runs a 0.4 s window on a meter.
fn window_of(meter: &mut dyn EnergyMeter) -> harbench_cost::EnergyWindow {
    meter.start().unwrap();
    std::thread::sleep(Duration::from_millis(400));
    meter.stop().unwrap()
}

fn assert_close(got: f64, want: f64, tolerance: f64, what: &str) {
    assert!((got - want).abs() <= tolerance, "{what}: got {got}, want {want} ± {tolerance}");
}

#[test]
fn jetpack4_iio_rails_at_constant_power() {
    // Nano: POM_5V_IN 2500 mW contains POM_5V_GPU 400 mW and POM_5V_CPU 600 mW.
    let mut meter = Ina3221::probe(&fixture("jetpack4-nano")).unwrap();
    assert_eq!(meter.layout, "iio (JetPack 4)");
    assert_eq!(meter.rails.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["POM_5V_IN", "POM_5V_GPU", "POM_5V_CPU"]);
    let w = window_of(&mut meter);
    // 2.5 W over 0.4 s is 1 J; the exact window is what the meter timed.
    assert_close(w.joules, 2.5 * w.seconds, 1e-9, "input rail energy");
    assert_close(w.joules, 1.0, 0.1, "1 J over 0.4 s");
    assert_close(part(&w, "POM_5V_GPU"), 0.4 * w.seconds, 1e-9, "GPU rail");
    assert!(w.rule.contains("POM_5V_IN"), "{}", w.rule);
    assert!(w.samples.unwrap() >= 10, "{:?} samples at 10 ms over 0.4 s", w.samples);
    meter.policy = RailSum::All;
    let w = window_of(&mut meter);
    assert_close(w.joules, 3.5 * w.seconds, 1e-9, "all rails");
}

#[test]
fn jetpack4_two_chips_without_an_input_rail_are_summed() {
    let mut meter = Ina3221::probe(&fixture("jetpack4-xavier")).unwrap();
    assert_eq!(meter.rails.len(), 6);
    let w = window_of(&mut meter);
    // GPU 1 + CPU 0.5 + SOC 1 + CV 0 + VDDRQ 0.3 + SYS5V 0.7 = 3.5 W.
    assert_close(w.joules, 3.5 * w.seconds, 1e-9, "sum of rails");
    assert_close(w.joules, 1.4, 0.14, "3.5 W over 0.4 s");
    assert!(w.rule.starts_with("sum of all rails"), "{}", w.rule);
}

#[test]
fn jetpack5_hwmon_rails_at_constant_power() {
    let mut meter = Ina3221::probe(&fixture("jetpack5-orin")).unwrap();
    assert_eq!(meter.layout, "hwmon (JetPack 5+)");
    // The thermal hwmon and the unlabelled shunt channels are not rails.
    assert_eq!(meter.rails.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC"]);
    // VDD_IN: 5000 mV · 500 mA = 2.5 W.
    assert_close(meter.rails[0].watts().unwrap(), 2.5, 1e-12, "VDD_IN power");
    let w = window_of(&mut meter);
    assert_close(w.joules, 2.5 * w.seconds, 1e-9, "input rail energy");
    assert_close(w.joules, 1.0, 0.1, "1 J over 0.4 s");
    // VDD_SOC: 5000 mV · 120 mA = 0.6 W.
    assert_close(part(&w, "VDD_SOC"), 0.6 * w.seconds, 1e-9, "SOC rail");
}

#[test]
fn a_power_step_inside_the_window_is_integrated() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixture("jetpack5-orin"), dir.path());
    let current = dir.path().join("sys/class/hwmon/hwmon1/curr1_input");
    let mut meter = Ina3221::probe(dir.path()).unwrap();
    let before_start = Instant::now();
    meter.start().unwrap();
    let after_start = Instant::now();
    std::thread::sleep(Duration::from_millis(200));
    // 500 → 1000 mA at 5 V: 2.5 → 5 W.
    write_value(&current, 1000);
    let switch = Instant::now();
    std::thread::sleep(Duration::from_millis(200));
    let before_stop = Instant::now();
    let w = meter.stop().unwrap();
    let after_stop = Instant::now();
    let secs = |a: Instant, b: Instant| (b - a).as_secs_f64();
    let low = 2.5 * secs(after_start, switch) + 5.0 * secs(switch, before_stop);
    let high = 2.5 * secs(before_start, switch) + 5.0 * secs(switch, after_stop);
    // The step is seen up to one sampling period late: 2.5 W · 10 ms = 0.025 J, more on a
    // loaded machine where the sampler wakes late.
    assert!(w.joules >= low - 0.1 && w.joules <= high + 0.1, "{} J not in [{low}, {high}]", w.joules);
    assert_close(w.joules, 1.5, 0.2, "0.2 s at 2.5 W then 0.2 s at 5 W");
}

#[test]
fn rapl_counters_wrap_and_psys_is_not_added() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixture("rapl"), dir.path());
    let zone = |z: &str| dir.path().join("sys/class/powercap").join(z).join("energy_uj");
    // Package 0.5 J before its wrap at max_energy_range_uj.
    write_value(&zone("intel-rapl:0"), 262_143_328_850 - 500_000);
    let mut meter = Rapl::probe(dir.path()).unwrap();
    assert_eq!(
        meter.zones.iter().map(|z| z.name.as_str()).collect::<Vec<_>>(),
        ["package-0", "package-0/core", "package-0/uncore", "psys"]
    );
    meter.start().unwrap();
    write_value(&zone("intel-rapl:0"), 1_000_000);
    write_value(&zone("intel-rapl:0:0"), 800_000);
    write_value(&zone("intel-rapl:1"), 12_000_000);
    let w = meter.stop().unwrap();
    // 0.5 J to the wrap + 1 J after it.
    assert_close(w.joules, 1.5, 1e-9, "package energy across the wrap");
    assert_close(part(&w, "package-0/core"), 0.3, 1e-9, "core");
    assert_close(part(&w, "package-0/uncore"), 0.0, 1e-12, "uncore");
    // psys (3 J) already contains the package: reported, not added.
    assert_close(part(&w, "psys"), 3.0, 1e-9, "psys");
    assert!(w.rule.contains("package-0") && !w.rule.contains("psys"), "{}", w.rule);
}

#[test]
fn rapl_without_zones_or_readable_counters_says_why() {
    let err = Rapl::probe(&fixture("jetpack4-nano")).err().unwrap();
    assert!(err.contains("powercap"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixture("rapl"), dir.path());
    std::fs::write(dir.path().join("sys/class/powercap/intel-rapl:0/energy_uj"), "garbage").unwrap();
    let err = Rapl::probe(dir.path()).err().unwrap();
    assert!(err.contains("energy_uj") && err.contains("garbage"), "{err}");
}

#[test]
fn tegrastats_lines_of_every_jetpack() {
    let line = |name: &str| std::fs::read_to_string(fixture("tegrastats").join(name)).unwrap();
    let rails = |name: &str| parse_line(&line(name));
    let owned = |v: &[(&str, f64)]| v.iter().map(|(n, w)| (n.to_string(), *w)).collect::<Vec<_>>();
    // JetPack 4: milliwatts without a unit; RAM/SWAP (MB) and IRAM (kB) are not rails.
    assert_eq!(rails("jetpack4-nano.txt"), owned(&[("POM_5V_IN", 3456.0), ("POM_5V_GPU", 0.0), ("POM_5V_CPU", 622.0)]));
    assert_eq!(
        rails("jetpack4-xavier.txt"),
        owned(&[("GPU", 0.0), ("CPU", 311.0), ("SOC", 1088.0), ("CV", 0.0), ("VDDRQ", 155.0), ("SYS5V", 1637.0)])
    );
    // JetPack 5/6: "mW" units.
    assert_eq!(rails("jetpack5-orin-nx.txt"), owned(&[("VDD_IN", 5000.0), ("VDD_CPU_GPU_CV", 800.0), ("VDD_SOC", 1432.0)]));
    assert_eq!(
        rails("jetpack6-agx-orin.txt"),
        owned(&[("VDD_GPU_SOC", 2769.0), ("VDD_CPU_CV", 395.0), ("VIN_SYS_5V0", 2624.0), ("VDDQ_VDD2_1V8AO", 503.0)])
    );
    assert!(parse_line("RAM 2037/3964MB SWAP 0/1982MB EMC_FREQ 0% GR3D_FREQ 0%@[305]").is_empty());
}

#[test]
fn tegrastats_program_output_is_integrated() {
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("tegrastats");
    std::fs::copy(fixture("tegrastats/fake-tegrastats"), &program).unwrap();
    std::fs::copy(fixture("tegrastats/jetpack5-orin-nx.txt"), dir.path().join("line.txt")).unwrap();
    let mut meter = Tegrastats::probe(Some(&program)).unwrap();
    meter.interval = Duration::from_millis(20);
    let w = window_of(&mut meter);
    // VDD_IN 5000 mW over the window; VDD_SOC 1432 mW reported beside it.
    assert_close(w.joules, 5.0 * w.seconds, 1e-9, "VDD_IN");
    assert_close(w.joules, 2.0, 0.2, "5 W over 0.4 s");
    assert_close(part(&w, "VDD_SOC"), 1.432 * w.seconds, 1e-9, "VDD_SOC");
    assert!(w.samples.unwrap() >= 5, "{:?}", w.samples);
    // A program that prints no rails is an error, not zero energy.
    std::fs::write(dir.path().join("line.txt"), "RAM 1/2MB\n").unwrap();
    let err = meter.start().unwrap_err().to_string();
    assert!(err.contains("without power rails"), "{err}");
    assert!(Tegrastats::probe(Some(&dir.path().join("missing"))).is_err());
}

/// Probes that find nothing anywhere.
fn nowhere(dir: &Path) -> Probe {
    Probe { root: dir.to_path_buf(), nvml_library: Some(dir.join("libnvidia-ml.so.1")), tegrastats: Some(dir.join("tegrastats")) }
}

#[test]
fn detection_without_meters_gives_a_reason_for_each() {
    let dir = tempfile::tempdir().unwrap();
    for target in [Target::Cpu, Target::Gpu] {
        let found = detect(&nowhere(dir.path()), target, &Choice::Auto);
        assert!(found.meter.is_none());
        assert_eq!(found.findings.len(), 4);
        assert!(found.findings.iter().all(|f| !f.available && !f.detail.is_empty()), "{:?}", found.findings);
        let absence = found.absence();
        for id in ["jetson-ina3221", "tegrastats", "nvml", "rapl"] {
            assert!(absence.contains(id), "{absence}");
        }
    }
    let nvml = detect(&nowhere(dir.path()), Target::Gpu, &Choice::Named("nvml".into()));
    assert!(nvml.meter.is_none());
    assert!(nvml.findings.iter().any(|f| f.meter == "nvml" && f.detail.contains("NVML unavailable")), "{:?}", nvml.findings);
    let off = detect(&Probe { root: fixture("rapl"), ..nowhere(dir.path()) }, Target::Cpu, &Choice::None);
    assert!(off.meter.is_none() && off.absence().contains("--meter none"));
    assert!("joulemeter".parse::<Choice>().unwrap_err().contains("rapl"));
}

#[test]
fn detection_picks_the_meter_for_the_target() {
    let dir = tempfile::tempdir().unwrap();
    let rapl = Probe { root: fixture("rapl"), ..nowhere(dir.path()) };
    assert_eq!(detect(&rapl, Target::Cpu, &Choice::Auto).meter.unwrap().id(), "rapl");
    // RAPL does not see a GPU: no meter for GPU inference unless asked for by name.
    let gpu = detect(&rapl, Target::Gpu, &Choice::Auto);
    assert!(gpu.meter.is_none() && gpu.absence().contains("rapl: does not measure GPU"), "{}", gpu.absence());
    assert_eq!(detect(&rapl, Target::Gpu, &Choice::Named("rapl".into())).meter.unwrap().id(), "rapl");
    let jetson = Probe { root: fixture("jetpack5-orin"), ..nowhere(dir.path()) };
    for target in [Target::Cpu, Target::Gpu] {
        assert_eq!(detect(&jetson, target, &Choice::Auto).meter.unwrap().id(), "jetson-ina3221");
    }
}

/// This machine as it is: whatever it has, every meter is either found or absent with a reason
/// (on the project's build machines, which have no GPU, no RAPL and no Jetson rails: "no meter").
#[test]
fn detection_on_this_machine_explains_itself() {
    for target in [Target::Cpu, Target::Gpu] {
        let found = detect(&Probe::default(), target, &Choice::Auto);
        for f in &found.findings {
            println!("{target} {}: {} ({})", f.meter, f.available, f.detail);
            assert!(!f.detail.is_empty());
        }
        match &found.meter {
            Some(m) => assert!(found.findings.iter().any(|f| f.available && f.meter == m.id())),
            None => assert!(found.absence().starts_with("no energy meter available")),
        }
    }
    // Without the driver library NVML is reported absent, never a crash.
    if !Path::new("/dev/nvidiactl").exists() {
        let nvml = detect(&Probe::default(), Target::Gpu, &Choice::Named("nvml".into()));
        assert!(nvml.meter.is_none(), "NVML found without /dev/nvidiactl");
    }
}
