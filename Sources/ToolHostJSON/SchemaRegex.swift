/// A JSON Schema `pattern` (ECMA-262 syntax) compiled for matching in time linear in the input.
///
/// Invariant: matching never backtracks. The pattern becomes a Thompson NFA (at most
/// ``maximumInstructions`` instructions) that is simulated over the input's Unicode scalars with one set of
/// live states per position, so a match costs O(instructions × scalars) whatever the pattern and the input.
/// Features that cannot be matched that way (back-references, lookaround) are refused when the pattern is
/// compiled, not discovered when an argument arrives.
///
/// Semantics follow ECMA-262 with the `u` flag and no other flags, as JSON Schema asks: the search is unanchored
/// (`contains`), `^` and `$` are the ends of the string, `\d`, `\w` and `\b` are ASCII, `\s` and `.` use the ECMA
/// white-space and line-terminator sets, and lazy quantifiers match the same strings as greedy ones.
struct SchemaRegex: Sendable {
    /// The largest program a pattern may compile to. Counted repetitions are expanded into copies, so
    /// `((a{1,100}){1,100}){1,100}` would need about a million instructions; such patterns are refused.
    static let maximumInstructions = 10_000

    enum Assertion: Sendable {
        case start
        case end
        case wordBoundary
        case notWordBoundary
    }

    enum Instruction: Sendable {
        /// Consumes this scalar value.
        case scalar(UInt32)
        /// Consumes a member of `sets[index]`.
        case set(Int)
        /// Continues at both targets.
        case split(Int, Int)
        case jump(Int)
        /// Continues at the next instruction only where the assertion holds.
        case assert(Assertion)
        case match
    }

    let instructions: [Instruction]
    let sets: [SchemaCharacterSet]
    /// `sets` restricted to ASCII, one per set, for the common case.
    let asciiMasks: [ASCIIMask]
    /// The pattern starts with `^`: threads need to start at offset 0 only.
    let anchoredAtStart: Bool

    /// Compiles a pattern.
    /// - Throws: ``SchemaRegexError`` when the pattern is not valid ECMA-262, uses back-references or lookaround,
    ///   or would exceed ``maximumInstructions``.
    init(_ pattern: String) throws(SchemaRegexError) {
        var parser = SchemaRegexParser(pattern)
        let root = try parser.parse()
        var oversized: Int?
        let size = Self.size(of: root, oversized: &oversized)
        if size + 1 > Self.maximumInstructions {
            throw SchemaRegexError(
                kind: .unsupported, offset: oversized ?? 0,
                reason: "the pattern is too large: it would compile to more than \(Self.maximumInstructions) "
                    + "instructions (counted repetitions such as '{1,100}' are expanded into one copy per count, "
                    + "nested ones multiply); use smaller counts, '*' or '+'")
        }
        var emitter = Emitter()
        emitter.instructions.reserveCapacity(size + 1)
        emitter.emit(root)
        emitter.instructions.append(.match)
        assert(emitter.instructions.count == size + 1, "size(of:) must count exactly what emit(_:) appends")
        instructions = emitter.instructions
        sets = emitter.sets
        asciiMasks = emitter.sets.map(ASCIIMask.init)
        switch root {
        case .assertion(.start): anchoredAtStart = true
        case .concatenation(let items):
            if case .assertion(.start) = items.first { anchoredAtStart = true } else { anchoredAtStart = false }
        default: anchoredAtStart = false
        }
    }

    // MARK: Compiling

    /// How many instructions `node` emits, saturated just above the limit so nested counts cannot overflow.
    /// `oversized` receives the offset of the innermost repetition that alone goes over the limit.
    static func size(of node: SchemaRegexNode, oversized: inout Int?) -> Int {
        let ceiling = maximumInstructions + 1
        switch node {
        case .empty:
            return 0
        case .scalar, .set, .assertion:
            return 1
        case .concatenation(let items):
            var total = 0
            for item in items { total = min(total + size(of: item, oversized: &oversized), ceiling) }
            return total
        case .alternation(let branches):
            var total = 2 * (branches.count - 1)
            for branch in branches { total = min(total + size(of: branch, oversized: &oversized), ceiling) }
            return min(total, ceiling)
        case .repetition(let inner, let minimum, let maximum, let offset):
            let one = size(of: inner, oversized: &oversized)
            guard one > 0 else { return 0 }
            let total: Int
            if let maximum {
                total = minimum * one + (maximum - minimum) * (one + 1)
            } else {
                total = minimum == 0 ? one + 2 : minimum * one + 1
            }
            if total >= ceiling && oversized == nil { oversized = offset }
            return min(total, ceiling)
        }
    }

    /// Whether a node compiles to no instruction at all (`()`, `(?:)*`), so size(of:) is 0.
    static func emitsNothing(_ node: SchemaRegexNode) -> Bool {
        switch node {
        case .empty: return true
        case .concatenation(let items): return items.allSatisfy(emitsNothing)
        case .repetition(let inner, _, _, _): return emitsNothing(inner)
        case .scalar, .set, .assertion, .alternation: return false
        }
    }

    /// Appends a node's instructions; called only after ``size(of:oversized:)`` accepted the node.
    struct Emitter {
        var instructions: [Instruction] = []
        var sets: [SchemaCharacterSet] = []

        mutating func emit(_ node: SchemaRegexNode) {
            switch node {
            case .empty:
                break
            case .scalar(let value):
                instructions.append(.scalar(value))
            case .set(let set):
                sets.append(set)
                instructions.append(.set(sets.count - 1))
            case .assertion(let assertion):
                instructions.append(.assert(assertion))
            case .concatenation(let items):
                for item in items { emit(item) }
            case .alternation(let branches):
                // split L1, next; L1: branch; jump end; next: split … ; last branch; end:
                var jumps: [Int] = []
                for branch in branches.dropLast() {
                    let split = instructions.count
                    instructions.append(.split(split + 1, -1))
                    emit(branch)
                    jumps.append(instructions.count)
                    instructions.append(.jump(-1))
                    instructions[split] = .split(split + 1, instructions.count)
                }
                emit(branches[branches.count - 1])
                for jump in jumps { instructions[jump] = .jump(instructions.count) }
            case .repetition(let inner, let minimum, let maximum, _):
                if SchemaRegex.emitsNothing(inner) { return }  // repeating nothing is nothing
                if let maximum {
                    for _ in 0..<minimum { emit(inner) }
                    // Each optional copy may be skipped to the end: the same strings as nested optionals.
                    var splits: [Int] = []
                    for _ in minimum..<maximum {
                        splits.append(instructions.count)
                        instructions.append(.split(instructions.count + 1, -1))
                        emit(inner)
                    }
                    for split in splits { instructions[split] = .split(split + 1, instructions.count) }
                } else if minimum == 0 {
                    // loop: split body, end; body; jump loop; end:
                    let loop = instructions.count
                    instructions.append(.split(loop + 1, -1))
                    emit(inner)
                    instructions.append(.jump(loop))
                    instructions[loop] = .split(loop + 1, instructions.count)
                } else {
                    for _ in 1..<minimum { emit(inner) }
                    // The last required copy repeats: body; split body, end
                    let body = instructions.count
                    emit(inner)
                    instructions.append(.split(body, instructions.count + 1))
                }
            }
        }
    }

    // MARK: Matching

    /// Whether the pattern matches anywhere in `text`, with no limit on the work.
    func matches(_ text: String) -> Bool {
        var unlimited = Int.max
        return matches(text, budget: &unlimited) ?? false
    }

    /// Whether the pattern matches anywhere in `text`, or `nil` when that takes more than `budget` steps (one
    /// step is one live state at one character, plus one per character). `budget` is reduced by the work done.
    func matches(_ text: String, budget: inout Int) -> Bool? {
        let n = instructions.count
        // Two state sets (dense and sparse halves each) and the closure stack, which never holds more than two
        // entries per instruction: a state is expanded once per position and pushes at most two successors.
        let memory = UnsafeMutablePointer<Int32>.allocate(capacity: 6 * n + 2)
        memory.initialize(repeating: 0, count: 6 * n + 2)
        defer { memory.deallocate() }
        return instructions.withUnsafeBufferPointer { program in
            sets.withUnsafeBufferPointer { sets in
                asciiMasks.withUnsafeBufferPointer { masks in
                    var run = Run(program: program, sets: sets, masks: masks, stack: memory + 4 * n)
                    var current = StateSet(dense: memory, sparse: memory + n)
                    var next = StateSet(dense: memory + 2 * n, sparse: memory + 3 * n)
                    return run.search(
                        text, anchoredAtStart: anchoredAtStart, current: &current, next: &next, budget: &budget)
                }
            }
        }
    }

    /// One match in progress, over borrowed views of the program.
    private struct Run {
        let program: UnsafeBufferPointer<Instruction>
        let sets: UnsafeBufferPointer<SchemaCharacterSet>
        let masks: UnsafeBufferPointer<ASCIIMask>
        let stack: UnsafeMutablePointer<Int32>

        mutating func search(
            _ text: String, anchoredAtStart: Bool, current: inout StateSet, next: inout StateSet, budget: inout Int
        ) -> Bool? {
            var scalars = text.unicodeScalars.makeIterator()
            var upcoming = scalars.next()
            if follow(0, into: &current, previous: nil, next: upcoming) { return true }
            while let scalar = upcoming {
                budget -= Int(current.count) + 1
                if budget < 0 { return nil }
                let after = scalars.next()
                next.removeAll()
                let value = scalar.value
                for i in 0..<Int(current.count) {
                    let pc = Int(current.dense[i])
                    let consumes: Bool
                    switch program[pc] {
                    case .scalar(let expected): consumes = value == expected
                    case .set(let set):
                        consumes = value < 128 ? masks[set].contains(value) : sets[set].contains(scalar)
                    default: consumes = false
                    }
                    if consumes, follow(Int32(pc + 1), into: &next, previous: scalar, next: after) { return true }
                }
                if !anchoredAtStart, follow(0, into: &next, previous: scalar, next: after) { return true }
                if next.count == 0 && anchoredAtStart { return false }
                swap(&current, &next)
                upcoming = after
            }
            return false
        }

        /// Adds `start` and every state reachable from it without consuming input (at the position between
        /// `previous` and `next`) to `states`. Each state enters a set once per position, which is what bounds
        /// the work; returns `true` as soon as the match state is reached.
        func follow(
            _ start: Int32, into states: inout StateSet, previous: Unicode.Scalar?, next: Unicode.Scalar?
        ) -> Bool {
            var depth = 1
            stack[0] = start
            while depth > 0 {
                depth -= 1
                let pc = stack[depth]
                guard states.insert(pc) else { continue }
                switch program[Int(pc)] {
                case .match:
                    return true
                case .jump(let target):
                    stack[depth] = Int32(target)
                    depth += 1
                case .split(let first, let second):
                    stack[depth] = Int32(second)
                    stack[depth + 1] = Int32(first)
                    depth += 2
                case .assert(let assertion):
                    let holds: Bool
                    switch assertion {
                    case .start: holds = previous == nil
                    case .end: holds = next == nil
                    case .wordBoundary:
                        holds =
                            SchemaCharacterSet.isWordCharacter(previous) != SchemaCharacterSet.isWordCharacter(next)
                    case .notWordBoundary:
                        holds =
                            SchemaCharacterSet.isWordCharacter(previous) == SchemaCharacterSet.isWordCharacter(next)
                    }
                    if holds {
                        stack[depth] = pc + 1
                        depth += 1
                    }
                case .scalar, .set:
                    break
                }
            }
            return false
        }
    }

    /// Membership of the ASCII scalars in a set, as two 64-bit words: most arguments are ASCII.
    struct ASCIIMask {
        var low: UInt64 = 0
        var high: UInt64 = 0

        init(_ set: SchemaCharacterSet) {
            for v in 0..<128 where set.contains(Unicode.Scalar(UInt8(v))) {
                if v < 64 { low |= 1 << UInt64(v) } else { high |= 1 << UInt64(v - 64) }
            }
        }

        func contains(_ v: UInt32) -> Bool {
            v < 64 ? low & (1 << UInt64(v)) != 0 : high & (1 << UInt64(v - 64)) != 0
        }
    }

    /// A set of instruction indices with O(1) insert, membership and clear (a sparse set), over memory owned by
    /// ``matches(_:)``.
    struct StateSet {
        let dense: UnsafeMutablePointer<Int32>
        let sparse: UnsafeMutablePointer<Int32>
        var count: Int32 = 0

        /// Adds `state`; `false` when it was already there.
        mutating func insert(_ state: Int32) -> Bool {
            let slot = sparse[Int(state)]
            if slot < count && dense[Int(slot)] == state { return false }
            sparse[Int(state)] = count
            dense[Int(count)] = state
            count += 1
            return true
        }

        mutating func removeAll() {
            count = 0
        }
    }
}
