import Glibc

/// Something the deadline timer fires: a call's job (so arming a deadline allocates nothing), or a closure
/// (`DeadlineTimer.schedule(at:_:)`).
protocol DeadlineEntry: AnyObject, Sendable {
    /// CLOCK_MONOTONIC nanoseconds.
    var deadline: UInt64 { get }
    /// The entry's position in the timer's heap, -1 when it is not in it (start at -1). Only the timer
    /// touches it, under its lock.
    var timerIndex: Int { get set }
    /// Runs on the timer thread when the deadline passes, unless the entry was cancelled first.
    func fire()
}

/// One thread that fires call deadlines, kept in an indexed min-heap so a call that ends in time removes
/// its entry at once (memory stays bounded by the calls in flight, not by rate × timeout).
final class DeadlineTimer: @unchecked Sendable {
    /// An armed deadline; keep it to cancel.
    typealias Entry = any DeadlineEntry

    private final class ClosureEntry: DeadlineEntry, @unchecked Sendable {
        let deadline: UInt64
        var timerIndex = -1
        let action: @Sendable () -> Void

        init(deadline: UInt64, action: @escaping @Sendable () -> Void) {
            self.deadline = deadline
            self.action = action
        }

        func fire() { action() }
    }

    private let lock = ConditionLock()
    private var heap: [Entry] = []
    private var started = false
    private var waitingUntil: UInt64 = .max

    static let shared = DeadlineTimer()

    /// Runs `action` on the timer thread at `deadline` (CLOCK_MONOTONIC ns) unless cancelled first.
    func schedule(at deadline: UInt64, _ action: @escaping @Sendable () -> Void) -> Entry {
        let entry = ClosureEntry(deadline: deadline, action: action)
        schedule(entry)
        return entry
    }

    /// Calls `entry.fire()` on the timer thread at its deadline unless cancelled first. An entry is armed once.
    func schedule(_ entry: Entry) {
        lock.lock()
        if !started {
            started = true
            startThread()
        }
        push(entry)
        if entry.deadline < waitingUntil { lock.signal() }
        lock.unlock()
    }

    /// Removes the entry if it has not fired. Cheap; safe to call more than once.
    func cancel(_ entry: Entry) {
        lock.lock()
        if entry.timerIndex >= 0 { remove(at: entry.timerIndex) }
        lock.unlock()
    }

    /// The number of armed deadlines (for tests and metrics).
    var count: Int { lock.withLock { heap.count } }

    private func startThread() {
        HostThread.start(named: "toolhost-timer", stackSize: 1 << 20) { self.run() }
    }

    private func run() {
        lock.lock()
        while true {
            guard let first = heap.first else {
                waitingUntil = .max
                lock.wait()
                continue
            }
            let now = monotonicNanoseconds()
            if first.deadline <= now {
                remove(at: 0)
                lock.unlock()
                first.fire()
                lock.lock()
                continue
            }
            waitingUntil = first.deadline
            lock.wait(untilMonotonicNanoseconds: first.deadline)
            waitingUntil = .max
        }
    }

    // MARK: heap

    private func push(_ entry: Entry) {
        entry.timerIndex = heap.count
        heap.append(entry)
        siftUp(entry.timerIndex)
    }

    private func remove(at index: Int) {
        let last = heap.count - 1
        let removed = heap[index]
        if index != last {
            swapAt(index, last)
        }
        heap.removeLast()
        removed.timerIndex = -1
        if index < heap.count {
            siftDown(index)
            siftUp(index)
        }
    }

    private func swapAt(_ i: Int, _ j: Int) {
        heap.swapAt(i, j)
        heap[i].timerIndex = i
        heap[j].timerIndex = j
    }

    private func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].deadline < heap[parent].deadline else { return }
            swapAt(child, parent)
            child = parent
        }
    }

    private func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count && heap[left].deadline < heap[smallest].deadline { smallest = left }
            if right < heap.count && heap[right].deadline < heap[smallest].deadline { smallest = right }
            guard smallest != parent else { return }
            swapAt(parent, smallest)
            parent = smallest
        }
    }
}
