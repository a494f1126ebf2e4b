//! Lists the energy meters this machine has and, with `--window SECONDS`, reads each available
//! one over a window of that length (whatever else the machine does meanwhile).
//!
//! cargo run -p harbench-cost --example meters -- --window 2

use harbench_cost::{detect, Choice, Probe, Target};
use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let window = args.iter().position(|a| a == "--window").and_then(|i| args.get(i + 1)).and_then(|s| s.parse::<f64>().ok());
    for target in [Target::Cpu, Target::Gpu] {
        let found = detect(&Probe::default(), target, &Choice::Auto);
        println!("{target} inference:");
        for f in &found.findings {
            println!("  {:<15} {:<5} {}", f.meter, f.available, f.detail);
        }
        let Some(mut meter) = found.meter else {
            println!("  → {}", found.absence());
            continue;
        };
        let Some(seconds) = window else { continue };
        let window = Duration::from_secs_f64(seconds).max(meter.min_window());
        let result = meter.start().and_then(|_| {
            std::thread::sleep(window);
            meter.stop()
        });
        match result {
            Ok(w) => println!(
                "  → {}: {:.3} J over {:.3} s = {:.2} W ({}) parts {:?}",
                meter.id(),
                w.joules,
                w.seconds,
                w.watts(),
                w.rule,
                w.parts
            ),
            Err(e) => println!("  → {}: {e}", meter.id()),
        }
    }
}
