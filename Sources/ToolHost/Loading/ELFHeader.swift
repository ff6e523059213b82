/// The few facts about a shared library's ELF header that let the loader refuse a bad file with a clear
/// message before `dlopen` sees it: not ELF at all, built for another machine, or cut short in a copy.
struct ELFHeader {
    enum Problem: Error, Equatable {
        case notELF(firstBytes: String)
        case wrongClass
        case wrongMachine(found: Int)
        case notShared(type: Int)
        case truncated(fileSize: Int, needed: Int)
    }

    let fileType: Int
    let machine: Int
    /// Whether the library contains Swift code (it has `swift5_*` sections).
    private(set) var containsSwift = false
    /// The libraries it needs (DT_NEEDED), in order.
    private(set) var needed: [String] = []
    /// Defined dynamic symbols that contain the entry's name but are not it: the entry under a C++ mangled name
    /// (`_Z21toolhost_plugin_entryjj`, a definition without `extern "C"` or with other parameter types).
    private(set) var entryLookalikes: [String] = []

    /// A library with Swift code but no dependency on the shared Swift runtime carries a runtime of its
    /// own (`-static-stdlib`); two Swift runtimes in one process crash (swiftlang/swift#65859).
    var hasStaticSwiftRuntime: Bool {
        containsSwift && !needed.contains { $0.hasPrefix("libswiftCore.so") }
    }

    /// Checks the header and that every table it points to lies inside the file.
    init(_ bytes: [UInt8]) throws(Problem) {
        guard bytes.count >= 4, bytes[0] == 0x7F, bytes[1] == 0x45, bytes[2] == 0x4C, bytes[3] == 0x46 else {
            let shown = bytes.prefix(8).map { byte in
                (0x20..<0x7F).contains(byte) ? String(UnicodeScalar(byte)) : "\\x" + String(byte, radix: 16)
            }.joined()
            throw .notELF(firstBytes: shown)
        }
        guard bytes.count >= 64 else { throw .truncated(fileSize: bytes.count, needed: 64) }
        guard bytes[4] == 2, bytes[5] == 1 else { throw .wrongClass }  // 64-bit, little-endian
        func u16(_ offset: Int) -> Int { Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 }
        func u64(_ offset: Int) -> Int {
            var value = 0
            for index in (0..<8).reversed() { value = value << 8 | Int(bytes[offset + index]) }
            return value
        }
        fileType = u16(16)
        machine = u16(18)
        guard machine == Self.hostMachine ?? machine else { throw .wrongMachine(found: machine) }
        guard fileType == 3 else { throw .notShared(type: fileType) }  // ET_DYN
        let programHeaders = u64(32) + u16(54) * u16(56)
        let sectionHeaders = u64(40) + u16(58) * u16(60)
        let extent = max(programHeaders, sectionHeaders)
        guard extent <= bytes.count else { throw .truncated(fileSize: bytes.count, needed: extent) }
        readSections(bytes, u16: u16, u64: u64)
    }

    /// The e_machine of this host's processor (nil where the loader does not know it: no check then).
    static var hostMachine: Int? {
        #if arch(x86_64)
            return 62
        #elseif arch(arm64)
            return 183
        #else
            return nil
        #endif
    }

    /// The usual name of an ELF machine number (e_machine), as `uname -m` or a compiler's target says it.
    static func machineName(_ machine: Int) -> String {
        switch machine {
        case 3: return "i386"
        case 8: return "mips"
        case 20: return "ppc"
        case 21: return "ppc64"
        case 22: return "s390x"
        case 40: return "arm (32-bit)"
        case 62: return "x86-64"
        case 183: return "aarch64"
        case 243: return "riscv64"
        case 258: return "loongarch64"
        default: return "ELF machine \(machine)"
        }
    }

    /// Reads section names, the DT_NEEDED entries and the dynamic symbols that look like a mangled entry. Anything out of bounds is skipped: this only
    /// refines the checks above, dlopen remains the judge of the rest.
    private mutating func readSections(_ bytes: [UInt8], u16: (Int) -> Int, u64: (Int) -> Int) {
        func u32(_ offset: Int) -> Int {
            Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2]) << 16 | Int(bytes[offset + 3])
                << 24
        }
        func string(at offset: Int) -> String? {
            guard offset >= 0, offset < bytes.count else { return nil }
            guard let end = bytes[offset...].firstIndex(of: 0) else { return nil }
            return String(decoding: bytes[offset..<end], as: UTF8.self)
        }
        let table = u64(40)
        let entrySize = u16(58)
        let count = u16(60)
        let namesIndex = u16(62)
        guard entrySize >= 64, count > 0, namesIndex < count, table + count * entrySize <= bytes.count else { return }
        func header(_ index: Int) -> (name: Int, type: Int, offset: Int, size: Int, link: Int) {
            let base = table + index * entrySize
            return (u32(base), u32(base + 4), u64(base + 24), u64(base + 32), u32(base + 40))
        }
        let names = header(namesIndex)
        for index in 0..<count {
            let section = header(index)
            if let name = string(at: names.offset + section.name), name.hasPrefix("swift5_") { containsSwift = true }
            if section.type == 11, section.link < count {  // SHT_DYNSYM: 24-byte Elf64_Sym entries
                let strings = header(section.link)
                var symbol = section.offset
                while symbol + 24 <= min(section.offset + section.size, bytes.count) {
                    // st_shndx 0 is an undefined symbol (one the library uses, not one it defines).
                    if u16(symbol + 6) != 0, let name = string(at: strings.offset + u32(symbol)),
                        name != HostABI.entrySymbol, name.contains(HostABI.entrySymbol)
                    {
                        entryLookalikes.append(name)
                    }
                    symbol += 24
                }
            }
            guard section.type == 6, section.link < count else { continue }  // SHT_DYNAMIC
            let strings = header(section.link)
            var entry = section.offset
            while entry + 16 <= min(section.offset + section.size, bytes.count) {
                let tag = u64(entry)
                if tag == 0 { break }  // DT_NULL
                // DT_NEEDED
                if tag == 1, let name = string(at: strings.offset + u64(entry + 8)) { needed.append(name) }
                entry += 16
            }
        }
    }
}

extension ELFHeader.Problem {
    /// The cause and what to do, for a message that already names the plugin and file.
    var explanation: String {
        switch self {
        case .notELF(let first):
            return "not an ELF shared library (it starts with \"\(first)\"); build it with `cc -shared -fPIC` "
                + "and copy the .so itself, not a script or an archive"
        case .wrongClass:
            return "not a 64-bit little-endian ELF file; build it for this machine"
        case .wrongMachine(let found):
            let host = ELFHeader.hostMachine.map(ELFHeader.machineName) ?? "another processor"
            return "built for \(ELFHeader.machineName(found)); this host is \(host): build it on or for \(host)"
        case .notShared(let type):
            return "not a shared library (ELF type \(type)); link it with -shared"
        case .truncated(let size, let needed):
            return "truncated: the file has \(size) bytes but its headers need \(needed); the copy was "
                + "interrupted or the build failed, copy it again"
        }
    }
}
