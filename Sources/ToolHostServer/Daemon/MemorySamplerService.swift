import Foundation
import ServiceLifecycle
import ToolHost

/// Samples the daemon's resident memory and each plugin worker's into a ``MemorySampler`` every
/// ``MemorySampler/interval``, from the start of the group to its graceful shutdown. The first sample is taken at
/// once. procfs is read on a thread of its own, never on the cooperative pool.
public struct MemorySamplerService: Service {
    private let host: ToolHost
    private let sampler: MemorySampler

    /// - Parameters:
    ///   - host: whose worker processes are sampled.
    ///   - sampler: where the samples go.
    public init(host: ToolHost, sampler: MemorySampler) {
        self.host = host
        self.sampler = sampler
    }

    public func run() async throws {
        let host = self.host
        let sampler = self.sampler
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await Self.sample(host: host, into: sampler)
                try await Task.sleep(for: sampler.interval)
            }
        }
    }

    /// Reads procfs on a new thread (a few small reads every few seconds: a thread of its own costs less than
    /// keeping one) and records the sample.
    static func sample(host: ToolHost, into sampler: MemorySampler) async {
        let processes = host.workerProcesses()
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                let workers = processes.flatMap { plugin, pids in
                    pids.compactMap { pid in
                        ProcessMemory.resident(pid: pid).map {
                            MemorySampler.Worker(plugin: plugin, pid: pid, residentBytes: $0)
                        }
                    }
                }
                if let resident = ProcessMemory.resident() {
                    sampler.record(
                        residentBytes: resident, peakBytes: ProcessMemory.peakResident(),
                        workers: workers.sorted { ($0.plugin, $0.pid) < ($1.plugin, $1.pid) },
                        at: monotonicNanoseconds())
                }
                done.resume()
            }
        }
    }
}
