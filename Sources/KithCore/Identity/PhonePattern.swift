/// A regular expression in the small dialect libphonenumber's metadata and parser are written in, matched
/// with the semantics of the Java and Python engines libphonenumber runs on: the leftmost alternative
/// first, greedy quantifiers, backtracking, numbered capturing groups.
///
/// The dialect: literals, `\d` (any Unicode decimal digit), `.`, classes (`[0-35-9]`, `[^#]`, escapes
/// inside), groups `( )` and `(?: )`, `|`, the quantifiers `?`, `*`, `+`, `{n}`, `{n,}`, `{n,m}`, and `$`.
/// It is compiled once into a program for a backtracking machine: a national number is ten-odd digits and
/// the patterns are tries of digit classes, so a match is a few dozen steps and allocates nothing.
/// A class, so that the metadata's many references to one pattern share it rather than copy its arrays.
final class PhonePattern: Sendable {
    enum Failure: Error, Equatable { case syntax(String) }

    fileprivate enum Operation: UInt8 {
        /// One ASCII digit whose bit is set in `a`.
        case digit
        /// One scalar of `classes[a]`.
        case scalar
        /// Try `a`, then `b`.
        case split
        case jump
        /// Record the position in capture slot `a`.
        case save
        /// Succeed only at the end of the input.
        case end
        case match
    }

    fileprivate struct Instruction: Sendable {
        var operation: Operation
        /// For a `split`: the ASCII digits (bits 0–9) the branch at `a` can begin with, bit 10 if it can
        /// begin with anything else or match the empty string — a branch that cannot begin at the next
        /// scalar is not tried at all.
        var first: UInt16 = Instruction.anything
        var a: Int32 = 0
        var b: Int32 = 0

        static let anything: UInt16 = 0x7FF
    }

    private let program: [Instruction]
    private let classes: [ScalarClass]
    /// The program as a deterministic automaton over ASCII digits, when it has one of a bounded size:
    /// matching a string of digits (every national number) is then one table step per digit.
    private let automaton: DigitAutomaton?
    /// Capturing groups, numbered from 1 as in the pattern.
    let groupCount: Int

    init(_ pattern: String, caseInsensitive: Bool = false) throws(Failure) {
        var parser = Parser(scalars: Array(pattern.unicodeScalars), caseInsensitive: caseInsensitive)
        let tree = try parser.parseAlternation()
        guard parser.position == parser.scalars.count else { throw .syntax("unbalanced ')'") }
        groupCount = parser.groupCount
        var compiler = Compiler()
        compiler.emit(tree)
        compiler.program.append(Instruction(operation: .match))
        compiler.computeFirstSets()
        program = compiler.program
        classes = compiler.classes
        automaton = DigitAutomaton(program: compiler.program, classes: compiler.classes)
    }

    /// Whether the whole of `input` matches (Java's `matches`, Python's `fullmatch`).
    func matchesWhole(_ input: UnsafeBufferPointer<UInt32>) -> Bool {
        if let matched = automaton?.matches(input, whole: true) { return matched }
        var captures = CaptureSlots()
        return run(input, from: 0, whole: true, captures: &captures) != nil
    }

    /// ``matchesWhole(_:)`` by the backtracking machine alone, never the automaton (for the tests that
    /// hold the two to the same answers).
    func matchesWholeByBacktracking(_ input: UnsafeBufferPointer<UInt32>) -> Bool {
        var captures = CaptureSlots()
        return run(input, from: 0, whole: true, captures: &captures) != nil
    }

    /// Whether the pattern has a digit automaton.
    var hasAutomaton: Bool { automaton != nil }

    /// Whether the whole of a string of ASCII digits matches.
    func matchesWhole(digits: [UInt32]) -> Bool {
        digits.withUnsafeBufferPointer { matchesWhole($0) }
    }

    /// The end of the match that starts at `start` (Java's `lookingAt`, Python's `match`), with the
    /// capturing groups' ranges in `captures` (`-1` where a group took no part).
    func matchPrefix(_ input: UnsafeBufferPointer<UInt32>, from start: Int = 0, captures: inout CaptureSlots) -> Int? {
        captures = CaptureSlots()
        return run(input, from: start, whole: false, captures: &captures)
    }

    /// Whether some prefix of `input` matches.
    func matchesPrefix(_ input: UnsafeBufferPointer<UInt32>) -> Bool {
        if let matched = automaton?.matches(input, whole: false) { return matched }
        var captures = CaptureSlots()
        return run(input, from: 0, whole: false, captures: &captures) != nil
    }

    /// The first position from which the pattern matches up to the end of the input, and that match's
    /// groups (Python's `search` of a pattern that ends in `$`).
    func searchSuffix(_ input: UnsafeBufferPointer<UInt32>, captures: inout CaptureSlots) -> Int? {
        for start in 0...input.count {
            captures = CaptureSlots()
            if run(input, from: start, whole: true, captures: &captures) != nil { return start }
        }
        return nil
    }

    private func run(
        _ input: UnsafeBufferPointer<UInt32>,
        from start: Int,
        whole: Bool,
        captures: inout CaptureSlots
    )
        -> Int?
    {
        program.withUnsafeBufferPointer { program in
            classes.withUnsafeBufferPointer { classes in
                var machine = Machine(program: program, classes: classes, input: input, whole: whole)
                let end = machine.run(pc: 0, sp: start)
                if end != nil { captures = machine.captures }
                return end
            }
        }
    }
}

/// Capture positions of up to seven groups: slot `2k` the start of group `k`, `2k + 1` its end.
struct CaptureSlots: Sendable {
    var slots:
        (
            Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32,
            Int32, Int32
        ) = (-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1)

    static let count = 16

    subscript(slot: Int) -> Int32 {
        get { withUnsafeBytes(of: slots) { $0.load(fromByteOffset: slot * 4, as: Int32.self) } }
        set {
            withUnsafeMutableBytes(of: &slots) { $0.storeBytes(of: newValue, toByteOffset: slot * 4, as: Int32.self) }
        }
    }

    /// The range group `group` (from 1) matched, if it took part.
    func range(ofGroup group: Int) -> Range<Int>? {
        guard 2 * group + 1 < Self.count else { return nil }
        let start = self[2 * group]
        let end = self[2 * group + 1]
        guard start >= 0, end >= start else { return nil }
        return Int(start)..<Int(end)
    }
}

/// A set of Unicode scalars: ASCII digits as a bit mask, the rest as ranges.
private struct ScalarClass: Sendable {
    var digitMask: UInt16 = 0
    var anyDecimalDigit = false
    var ranges: [ClosedRange<UInt32>] = []
    var negated = false

    var isDigitsOnly: Bool { !negated && !anyDecimalDigit && ranges.isEmpty }

    mutating func insert(_ range: ClosedRange<UInt32>, caseInsensitive: Bool) {
        let digits: ClosedRange<UInt32> = 0x30...0x39
        if range.overlaps(digits) {
            for digit in range.clamped(to: digits) { digitMask |= 1 << (digit - 0x30) }
        }
        if range.lowerBound < digits.lowerBound { ranges.append(range.lowerBound...min(range.upperBound, 0x2F)) }
        if range.upperBound > digits.upperBound { ranges.append(max(range.lowerBound, 0x3A)...range.upperBound) }
        guard caseInsensitive, range.count <= 64 else { return }
        for value in range {
            guard let scalar = Unicode.Scalar(value) else { continue }
            for variant in [scalar.properties.lowercaseMapping, scalar.properties.uppercaseMapping] {
                let scalars = variant.unicodeScalars
                if scalars.count == 1, let other = scalars.first?.value, other != value { ranges.append(other...other) }
            }
        }
    }

    func contains(_ value: UInt32) -> Bool {
        let found: Bool
        if value &- 0x30 < 10 {
            found = digitMask & (1 << (value &- 0x30)) != 0
        } else if anyDecimalDigit, let scalar = Unicode.Scalar(value), scalar.properties.numericType == .decimal {
            found = true
        } else {
            found = ranges.contains { $0.contains(value) }
        }
        return found != negated
    }
}

private indirect enum Node {
    case empty
    case scalars(ScalarClass)
    case sequence([Node])
    case alternation([Node])
    case group(Node, capture: Int?)
    case repetition(Node, min: Int, max: Int?)
    case end
}

private struct Parser {
    let scalars: [Unicode.Scalar]
    let caseInsensitive: Bool
    var position = 0
    var groupCount = 0

    init(scalars: [Unicode.Scalar], caseInsensitive: Bool) {
        self.scalars = scalars
        self.caseInsensitive = caseInsensitive
    }

    var next: Unicode.Scalar? { position < scalars.count ? scalars[position] : nil }

    mutating func parseAlternation() throws(PhonePattern.Failure) -> Node {
        var branches = [try parseSequence()]
        while next == "|" {
            position += 1
            branches.append(try parseSequence())
        }
        return branches.count == 1 ? branches[0] : .alternation(branches)
    }

    mutating func parseSequence() throws(PhonePattern.Failure) -> Node {
        var items: [Node] = []
        while let scalar = next, scalar != "|", scalar != ")" {
            var atom = try parseAtom()
            while let quantifier = try parseQuantifier() {
                atom = .repetition(atom, min: quantifier.min, max: quantifier.max)
            }
            items.append(atom)
        }
        return items.count == 1 ? items[0] : (items.isEmpty ? .empty : .sequence(items))
    }

    mutating func parseQuantifier() throws(PhonePattern.Failure) -> (min: Int, max: Int?)? {
        guard let scalar = next else { return nil }
        switch scalar {
        case "?":
            position += 1
            return (0, 1)
        case "*":
            position += 1
            return (0, nil)
        case "+":
            position += 1
            return (1, nil)
        case "{":
            position += 1
            let low = try parseNumber()
            var high: Int? = low
            if next == "," {
                position += 1
                high = next == "}" ? nil : try parseNumber()
            }
            guard next == "}" else { throw .syntax("unclosed '{'") }
            position += 1
            if let high, high < low { throw .syntax("{n,m} with m < n") }
            return (low, high)
        default:
            return nil
        }
    }

    mutating func parseNumber() throws(PhonePattern.Failure) -> Int {
        var value = 0
        var digits = 0
        while let scalar = next, (0x30...0x39).contains(scalar.value) {
            value = value * 10 + Int(scalar.value - 0x30)
            digits += 1
            position += 1
        }
        guard digits > 0, value <= 64 else { throw .syntax("bad count in {}") }
        return value
    }

    mutating func parseAtom() throws(PhonePattern.Failure) -> Node {
        guard let scalar = next else { throw .syntax("unexpected end") }
        position += 1
        switch scalar {
        case "(":
            var capture: Int?
            if next == "?" {
                guard position + 1 < scalars.count, scalars[position + 1] == ":" else {
                    throw .syntax("only (?: groups")
                }
                position += 2
            } else {
                groupCount += 1
                capture = groupCount
            }
            let inner = try parseAlternation()
            guard next == ")" else { throw .syntax("unclosed '('") }
            position += 1
            return .group(inner, capture: capture)
        case "[":
            return .scalars(try parseClass())
        case "\\":
            return .scalars(try parseEscape())
        case ".":
            var any = ScalarClass()
            any.negated = true
            return .scalars(any)
        case "$":
            return .end
        case "^", "*", "+", "?", "{", ")", "|":
            throw .syntax("unexpected '\(scalar)'")
        default:
            var single = ScalarClass()
            single.insert(scalar.value...scalar.value, caseInsensitive: caseInsensitive)
            return .scalars(single)
        }
    }

    mutating func parseEscape() throws(PhonePattern.Failure) -> ScalarClass {
        guard let scalar = next else { throw .syntax("trailing '\\'") }
        position += 1
        var result = ScalarClass()
        if scalar == "d" {
            result.digitMask = 0x3FF
            result.anyDecimalDigit = true
        } else if scalar.properties.isAlphabetic || scalar.properties.numericType != nil {
            throw .syntax("unsupported escape")
        } else {
            result.insert(scalar.value...scalar.value, caseInsensitive: caseInsensitive)
        }
        return result
    }

    mutating func parseClass() throws(PhonePattern.Failure) -> ScalarClass {
        var result = ScalarClass()
        if next == "^" {
            result.negated = true
            position += 1
        }
        var first = true
        while let scalar = next, scalar != "]" || first {
            first = false
            position += 1
            var low = scalar
            if scalar == "\\" {
                guard let escaped = next else { throw .syntax("trailing '\\'") }
                position += 1
                if escaped == "d" {
                    result.digitMask = 0x3FF
                    result.anyDecimalDigit = true
                    continue
                }
                low = escaped
            }
            if next == "-", position + 1 < scalars.count, scalars[position + 1] != "]" {
                position += 1
                var high = scalars[position]
                position += 1
                if high == "\\", let escaped = next {
                    position += 1
                    high = escaped
                }
                guard high.value >= low.value else { throw .syntax("reversed range") }
                result.insert(low.value...high.value, caseInsensitive: caseInsensitive)
            } else {
                result.insert(low.value...low.value, caseInsensitive: caseInsensitive)
            }
        }
        guard next == "]" else { throw .syntax("unclosed '['") }
        position += 1
        return result
    }
}

private struct Compiler {
    var program: [PhonePattern.Instruction] = []
    var classes: [ScalarClass] = []

    mutating func emit(_ node: Node) {
        switch node {
        case .empty:
            break
        case .scalars(let scalarClass):
            if scalarClass.isDigitsOnly {
                program.append(.init(operation: .digit, a: Int32(scalarClass.digitMask)))
            } else {
                classes.append(scalarClass)
                program.append(.init(operation: .scalar, a: Int32(classes.count - 1)))
            }
        case .sequence(let items):
            for item in items { emit(item) }
        case .alternation(let branches):
            var jumpsToEnd: [Int] = []
            for (index, branch) in branches.enumerated() {
                if index < branches.count - 1 {
                    let split = program.count
                    program.append(.init(operation: .split, a: Int32(split + 1)))
                    emit(branch)
                    jumpsToEnd.append(program.count)
                    program.append(.init(operation: .jump))
                    program[split].b = Int32(program.count)
                } else {
                    emit(branch)
                }
            }
            for jump in jumpsToEnd { program[jump].a = Int32(program.count) }
        case .group(let inner, let capture):
            if let capture { program.append(.init(operation: .save, a: Int32(2 * capture))) }
            emit(inner)
            if let capture { program.append(.init(operation: .save, a: Int32(2 * capture + 1))) }
        case .repetition(let inner, let min, let max):
            for _ in 0..<min { emit(inner) }
            if let max {
                // Greedy optional copies, nested: (e(e(e)?)?)?
                var splits: [Int] = []
                for _ in min..<max {
                    splits.append(program.count)
                    program.append(.init(operation: .split, a: Int32(program.count + 1)))
                    emit(inner)
                }
                for split in splits { program[split].b = Int32(program.count) }
            } else {
                let loop = program.count
                program.append(.init(operation: .split, a: Int32(loop + 1)))
                emit(inner)
                program.append(.init(operation: .jump, a: Int32(loop)))
                program[loop].b = Int32(program.count)
            }
        case .end:
            program.append(.init(operation: .end))
        }
    }

    /// Fills each `split`'s `first`: what its first branch can begin with.
    mutating func computeFirstSets() {
        // visited[pc] == walk: pc was seen in this walk, and adds nothing the walk has not counted.
        var visited = [Int](repeating: -1, count: program.count)
        for pc in program.indices where program[pc].operation == .split {
            program[pc].first = firstSet(at: Int(program[pc].a), walk: pc, visited: &visited)
        }
    }

    private func firstSet(at pc: Int, walk: Int, visited: inout [Int]) -> UInt16 {
        guard visited[pc] != walk else { return 0 }
        visited[pc] = walk
        let instruction = program[pc]
        switch instruction.operation {
        case .digit:
            return UInt16(truncatingIfNeeded: instruction.a)
        case .scalar, .end, .match:
            return PhonePattern.Instruction.anything
        case .split:
            return firstSet(at: Int(instruction.a), walk: walk, visited: &visited)
                | firstSet(at: Int(instruction.b), walk: walk, visited: &visited)
        case .jump:
            return firstSet(at: Int(instruction.a), walk: walk, visited: &visited)
        case .save:
            return firstSet(at: pc + 1, walk: walk, visited: &visited)
        }
    }
}

/// A program's language over ASCII digits as a deterministic automaton (subset construction), for the
/// matches that need no capturing groups. It accepts exactly the digit strings the backtracking machine
/// matches, since which alternative matches first does not change whether one does.
private struct DigitAutomaton: Sendable {
    /// Patterns whose automaton would be larger are left to the backtracking machine.
    static let maximumStates = 4_096

    /// `next[state * 10 + digit]`: the state after `digit`, or -1 where nothing can match any more.
    private let next: [Int16]
    /// The match ends here at the end of the input (`matchesWhole`).
    private let acceptsAtEnd: [Bool]
    /// The match can end here with input left over (a prefix match).
    private let acceptsBefore: [Bool]

    init?(program: [PhonePattern.Instruction], classes: [ScalarClass]) {
        // What each consuming instruction takes of the ten digits.
        let masks = program.map { instruction -> UInt16 in
            switch instruction.operation {
            case .digit: UInt16(truncatingIfNeeded: instruction.a)
            case .scalar:
                (0..<10).reduce(0) { mask, digit in
                    classes[Int(instruction.a)].contains(0x30 + UInt32(digit)) ? mask | 1 << digit : mask
                }
            default: 0
            }
        }
        var seen = [Int](repeating: -1, count: program.count)
        var walk = 0
        // The consuming instructions reachable from `kernel` without input, and whether `match` is.
        func closure(_ kernel: [Int32], atEnd: Bool) -> (consumers: [Int32], accepts: Bool) {
            walk += 1
            var consumers: [Int32] = []
            var accepts = false
            var stack = kernel
            while let pc = stack.popLast().map(Int.init) {
                guard seen[pc] != walk else { continue }
                seen[pc] = walk
                let instruction = program[pc]
                switch instruction.operation {
                case .digit, .scalar: consumers.append(Int32(pc))
                case .split: stack += [instruction.b, instruction.a]
                case .jump: stack.append(instruction.a)
                case .save: stack.append(Int32(pc + 1))
                case .end: if atEnd { stack.append(Int32(pc + 1)) }
                case .match: accepts = true
                }
            }
            return (consumers.sorted(), accepts)
        }

        var next: [Int16] = []
        var acceptsAtEnd: [Bool] = []
        var acceptsBefore: [Bool] = []
        var states: [[Int32]: Int] = [:]
        var pending: [[Int32]] = []
        func state(of kernel: [Int32]) -> Int? {
            let (consumers, acceptsBeforeEnd) = closure(kernel, atEnd: false)
            let atEnd = acceptsBeforeEnd || closure(kernel, atEnd: true).accepts
            let key = consumers + [atEnd ? -1 : -2, acceptsBeforeEnd ? -1 : -2]
            if let known = states[key] { return known }
            guard states.count < Self.maximumStates else { return nil }
            states[key] = states.count
            pending.append(consumers)
            acceptsAtEnd.append(atEnd)
            acceptsBefore.append(acceptsBeforeEnd)
            return states.count - 1
        }
        guard state(of: [0]) != nil else { return nil }
        var index = 0
        while index < pending.count {
            let consumers = pending[index]
            index += 1
            for digit in 0..<10 {
                let kernel = consumers.filter { masks[Int($0)] & 1 << digit != 0 }.map { $0 + 1 }
                if kernel.isEmpty {
                    next.append(-1)
                } else {
                    guard let target = state(of: kernel) else { return nil }
                    next.append(Int16(target))
                }
            }
        }
        self.next = next
        self.acceptsAtEnd = acceptsAtEnd
        self.acceptsBefore = acceptsBefore
    }

    /// Whether the input (`whole`) or a prefix of it matches; `nil` if it holds anything but ASCII digits.
    func matches(_ input: UnsafeBufferPointer<UInt32>, whole: Bool) -> Bool? {
        next.withUnsafeBufferPointer { next in
            var state = 0
            for value in input {
                if !whole, acceptsBefore[state] { return true }
                let digit = value &- 0x30
                guard digit < 10 else { return nil }
                state = Int(next[state &* 10 &+ Int(digit)])
                if state < 0 { return false }
            }
            return acceptsAtEnd[state]
        }
    }
}

/// The backtracking machine: depth-first over `split`s, captures restored on the way back.
private struct Machine {
    let program: UnsafeBufferPointer<PhonePattern.Instruction>
    let classes: UnsafeBufferPointer<ScalarClass>
    let input: UnsafeBufferPointer<UInt32>
    let whole: Bool
    var captures = CaptureSlots()
    /// A bound on the work one match may do, so that no input can make a pattern run away.
    var budget = 100_000

    init(
        program: UnsafeBufferPointer<PhonePattern.Instruction>,
        classes: UnsafeBufferPointer<ScalarClass>,
        input: UnsafeBufferPointer<UInt32>,
        whole: Bool
    ) {
        self.program = program
        self.classes = classes
        self.input = input
        self.whole = whole
    }

    mutating func run(pc start: Int, sp position: Int) -> Int? {
        var pc = start
        var sp = position
        while true {
            budget -= 1
            if budget < 0 { return nil }
            let instruction = program[pc]
            switch instruction.operation {
            case .digit:
                guard sp < input.count else { return nil }
                let digit = input[sp] &- 0x30
                guard digit < 10, UInt32(instruction.a) & (1 << digit) != 0 else { return nil }
                pc += 1
                sp += 1
            case .scalar:
                guard sp < input.count, classes[Int(instruction.a)].contains(input[sp]) else { return nil }
                pc += 1
                sp += 1
            case .split:
                let next: UInt16
                if sp < input.count, case let digit = input[sp] &- 0x30, digit < 10 {
                    next = 1 << UInt16(digit)
                } else {
                    next = 0x400
                }
                if instruction.first & next != 0, let end = run(pc: Int(instruction.a), sp: sp) { return end }
                pc = Int(instruction.b)
            case .jump:
                pc = Int(instruction.a)
            case .save:
                let slot = Int(instruction.a)
                guard slot < CaptureSlots.count else {
                    pc += 1
                    continue
                }
                let old = captures[slot]
                captures[slot] = Int32(sp)
                if let end = run(pc: pc + 1, sp: sp) { return end }
                captures[slot] = old
                return nil
            case .end:
                guard sp == input.count else { return nil }
                pc += 1
            case .match:
                if whole, sp != input.count { return nil }
                return sp
            }
        }
    }
}
