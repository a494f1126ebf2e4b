//! The process's peak resident set size (Linux `VmHWM`); `None` where the kernel does not say.

pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vm_hwm(&status)
}

fn parse_vm_hwm(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_vm_hwm_in_kib() {
        let status = "Name:\tharbench\nVmPeak:\t  9000 kB\nVmHWM:\t    2048 kB\nVmRSS:\t 1024 kB\n";
        assert_eq!(super::parse_vm_hwm(status), Some(2048 * 1024));
        assert_eq!(super::parse_vm_hwm("Name: x\n"), None);
    }
}
