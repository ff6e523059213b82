import CToolHostShims
import Glibc

/// The confinement a worker puts itself under after it parsed the manifest and before it opens the plugin's
/// library, so that no plugin code (not even its initialisers) runs outside it.
///
/// Applied, in order: `no_new_privs` (execve can no longer grant privileges), then a seccomp filter that fails with
/// EPERM the system calls a tool never needs (ptrace, mount, kernel modules, reboot, bpf, unshare…; the list is in
/// the shim). Both are inherited by every thread and child of the worker and cannot be undone. What the kernel
/// refuses is reported to the host, never silently skipped. In-process plugins get none of this.
enum WorkerSandbox {
    /// What a worker applied and what it could not, in words for the host's log.
    struct Report: Sendable, Equatable {
        var applied: [String] = []
        var notApplied: [String] = []
    }

    /// Applies the sandbox to the calling process.
    /// - Parameter enabled: false when the operator turned the sandbox off (reported as not applied).
    /// - Returns: what was applied and what was not, and why.
    static func apply(enabled: Bool) -> Report {
        var report = Report()
        guard enabled else {
            report.notApplied.append("the whole worker sandbox: turned off by the operator (isolation.sandbox)")
            return report
        }
        let noNewPrivs = toolhost_shim_set_no_new_privs()
        if noNewPrivs == 0 {
            report.applied.append("no_new_privs")
        } else {
            report.notApplied.append("no_new_privs: the kernel refused it (\(describe(noNewPrivs)))")
        }
        let filter = toolhost_shim_install_syscall_filter()
        if filter == 0 {
            let arch = toolhost_shim_syscall_filter_arch().map { String(cString: $0) } ?? "?"
            report.applied.append("seccomp syscall filter (\(arch))")
        } else if filter == ENOTSUP {
            report.notApplied.append("seccomp syscall filter: toolhost has no filter for this architecture")
        } else {
            report.notApplied.append("seccomp syscall filter: the kernel refused it (\(describe(filter)))")
        }
        return report
    }

    private static func describe(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
