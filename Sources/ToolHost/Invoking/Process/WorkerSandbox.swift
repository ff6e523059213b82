import CToolHostShims
import Glibc

/// The confinement a worker puts itself under after it parsed the manifest and before it opens the plugin's
/// library, so that no plugin code (not even its initialisers) runs outside it.
///
/// Applied, in order: `no_new_privs` (execve can no longer grant privileges), then a seccomp filter that fails with
/// EPERM the system calls a tool never needs (ptrace, mount, kernel modules, reboot, bpf, unshare…; the list is in
/// the shim). Both are inherited by every thread and child of the worker and cannot be undone. A worker cut off the
/// network (`limits.network: false`, or the operator) was started in a new, empty network namespace by the spawn
/// shim, before exec; it only reports how that went. What the kernel refuses is reported to the host, never
/// silently skipped. In-process plugins get none of this.
package enum WorkerSandbox {
    /// The environment entry in which the spawn shim leaves the outcome of the network cut-off (see the shim).
    static let networkVariable = "TOOLHOST_NETWORK"

    /// What a worker applied and what it could not, in words for the host's log.
    package struct Report: Sendable, Equatable {
        var applied: [String] = []
        var notApplied: [String] = []
    }

    /// Applies the sandbox to the calling process.
    /// - Parameters:
    ///   - enabled: false when the operator turned the sandbox off (reported as not applied).
    ///   - network: the value the spawn shim left in `networkVariable`; nil when the network was not to be cut.
    /// - Returns: what was applied and what was not, and why.
    static func apply(enabled: Bool, network: String?) -> Report {
        var report = Report()
        if let network { reportNetwork(network, into: &report) }
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

    private static func reportNetwork(_ outcome: String, into report: inout Report) {
        switch outcome {
        case "cut": report.applied.append("network cut off (a new network namespace)")
        case "cut userns": report.applied.append("network cut off (a new user and network namespace)")
        default:
            let code = outcome.hasPrefix("errno ") ? Int32(outcome.dropFirst(6)) : nil
            let reason = code.map(describe) ?? "no outcome reported"
            report.notApplied.append(
                "network cut-off: the kernel refused a new network namespace, even in a new user namespace "
                    + "(\(reason)); the worker can use the network")
        }
    }

    private static func describe(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
