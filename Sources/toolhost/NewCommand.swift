import ArgumentParser
import Foundation
import ToolHost
import ToolHostJSON

/// `toolhost new`: a plugin folder to start from, in C, C++ or Rust, that builds with `make`, passes `check` and
/// answers its example call.
struct NewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "new",
        abstract: "Make a plugin folder to start from: one example tool, a manifest and a Makefile.",
        discussion: """
            Writes a plugin named NAME into DIR (default plugins/NAME, so the default plugins directory serves it) \
            with one tool, `greet`, whose manifest carries an example call that `toolhost check` runs. Build it \
            with `make -C DIR`; the Makefile names the SDK it was made with (override with `make SDK=…`). \
            --lang rust builds with cargo, offline, on the SDK's crate (plugin-sdk/rust). The SDK is found with \
            --sdk, else TOOLHOST_SDK, else in the toolhost checkout this binary was built in. A Swift template is \
            not offered yet: see plugin-sdk/README.md for writing a plugin in Swift.
            """)

    enum Language: String, ExpressibleByArgument, CaseIterable {
        case c, cpp, rust

        var title: String {
            switch self {
            case .c: "C"
            case .cpp: "C++"
            case .rust: "Rust"
            }
        }
    }

    @Option(name: .long, help: "The plugin's language: c, cpp or rust.")
    var lang: Language

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The plugin SDK (the plugin-sdk folder of a toolhost checkout).", valueName: "dir"))
    var sdk: String?

    @Argument(help: "The plugin's name: a lower-case letter, then lower-case letters, digits and _ (at most 64).")
    var name: String

    @Argument(help: ArgumentHelp("Where to write it; it must not exist or be empty.", valueName: "dir"))
    var directory: String?

    func run() throws {
        guard name.wholeMatch(of: /[a-z][a-z0-9_]{0,63}/) != nil else {
            throw usage(
                "'\(name)' cannot name a plugin here: start with a lower-case letter, then lower-case letters, "
                    + "digits and _ (at most 64; it is also the library's and, for Rust, the crate's name)")
        }
        let directory = directory ?? "plugins/\(name)"
        let files = FileManager.default
        if let existing = try? files.contentsOfDirectory(atPath: directory), !existing.isEmpty {
            throw usage("\(directory) exists and is not empty: give another folder, or remove it first")
        }
        if files.fileExists(atPath: directory), (try? files.contentsOfDirectory(atPath: directory)) == nil {
            throw usage("\(directory) exists and is not a folder")
        }
        let sdk = try findSDK()
        let written = PluginTemplate(language: lang, name: name, sdk: sdk).files
        do {
            for (path, text) in written {
                let url = URL(fileURLWithPath: directory).appendingPathComponent(path)
                try files.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(text.utf8).write(to: url)
            }
        } catch {
            printError("toolhost: new: cannot write \(directory): \(error.localizedDescription)")
            throw ExitCode(1)
        }
        let parent = (directory as NSString).deletingLastPathComponent
        let plugins = parent.isEmpty || parent == "plugins" || parent == "./plugins" ? "" : " --plugins \(parent)"
        print(
            "made \(directory): a \(lang.title) plugin '\(name)' (\(written.map(\.path).joined(separator: ", ")))"
        )
        print("next:")
        print("  make -C \(directory)")
        print("  toolhost check \(directory)")
        print("  toolhost call\(plugins) \(name).greet '{\"name\": \"Ada\"}'")
    }

    /// The SDK folder: `--sdk`, `TOOLHOST_SDK`, or the checkout this binary sits in (`.build/<config>/toolhost`).
    private func findSDK() throws -> String {
        let header = "include/toolhost/toolhost.h"
        let files = FileManager.default
        if let given = sdk ?? ProcessInfo.processInfo.environment["TOOLHOST_SDK"] {
            let from = sdk != nil ? "--sdk" : "TOOLHOST_SDK"
            let absolute = URL(fileURLWithPath: given).standardizedFileURL.path
            guard files.fileExists(atPath: absolute + "/" + header) else {
                throw usage("\(from) \(given) is not the plugin SDK: it has no \(header)")
            }
            return absolute
        }
        let executable = (try? files.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var folder = URL(fileURLWithPath: executable).deletingLastPathComponent()
        while folder.path != "/" {
            let candidate = folder.appendingPathComponent("plugin-sdk").path
            if files.fileExists(atPath: candidate + "/" + header) { return candidate }
            folder.deleteLastPathComponent()
        }
        throw usage(
            "cannot find the plugin SDK: this binary is not inside a toolhost checkout; give --sdk DIR (the "
                + "plugin-sdk folder of the checkout) or set TOOLHOST_SDK")
    }

    private func usage(_ message: String) -> ExitCode {
        printError("toolhost: new: \(message)")
        return ExitCode(64)
    }
}

/// The files of a new plugin, by path inside its folder.
struct PluginTemplate {
    let language: NewCommand.Language
    let name: String
    /// The SDK's folder, absolute.
    let sdk: String

    var files: [(path: String, text: String)] {
        var files: [(String, String)] = [("manifest.json", manifest), ("Makefile", makefile)]
        switch language {
        case .c: files.append(("\(name).c", cSource))
        case .cpp: files += [("\(name).cpp", cppSource), ("exports.map", exportsMap)]
        case .rust: files += [("Cargo.toml", cargoManifest), ("src/lib.rs", rustSource), (".gitignore", "/target\n")]
        }
        return files
    }

    var manifest: String {
        let value: JSONValue = [
            "name": .string(name), "version": "0.1.0",
            "description": .string("\(name): a toolhost plugin in \(language.title), made by toolhost new."),
            "abi": ["major": .int(Int64(HostABI.major)), "minor": .int(Int64(HostABI.minor))],
            "library": ["file": .string("lib\(name).so")],
            "tools": [
                [
                    "name": "greet", "description": "Say hello to someone by name.",
                    "inputSchema": [
                        "type": "object", "properties": ["name": ["type": "string"]], "required": ["name"],
                        "additionalProperties": false,
                    ],
                    "deterministic": true, "timeoutMs": 1000,
                    "examples": [["arguments": ["name": "Ada"], "result": ["greeting": "hello, Ada"]]],
                ]
            ],
        ]
        return value.prettyPrinted() + "\n"
    }

    var makefile: String {
        let head = """
            # Build the plugin: make      (made by toolhost new; SDK is the plugin SDK it was made with)
            SDK ?= \(sdk)

            """
        let rustHead = """
            # Build the plugin: make      (made by toolhost new; Cargo.toml names the SDK's crate by path)

            """
        switch language {
        case .c:
            return head + """
                CFLAGS ?= -std=c99 -Wall -Wextra -O2

                # -fvisibility=hidden: the entry is the only symbol the library exports.
                lib\(name).so: \(name).c
                \t$(CC) $(CFLAGS) -shared -fPIC -fvisibility=hidden -I$(SDK)/include \(name).c -o $@

                """
        case .cpp:
            return head + """
                CXXFLAGS ?= -std=c++17 -Wall -Wextra -O2

                # exports.map keeps the entry the only exported symbol (-fvisibility=hidden alone leaves some of
                # the C++ runtime's).
                lib\(name).so: \(name).cpp exports.map
                \t$(CXX) $(CXXFLAGS) -shared -fPIC -fvisibility=hidden -I$(SDK)/include \(name).cpp -o $@ \\
                \t\t-Wl,--version-script=exports.map

                """
        case .rust:
            return rustHead + """
                # cargo, offline (the SDK's crate has no dependencies); the host loads the library from this folder.
                lib\(name).so: Cargo.toml src/lib.rs
                \tcargo build --release --offline
                \tcp target/release/lib\(name).so $@

                """
        }
    }

    var cSource: String {
        """
        /* \(name): a toolhost plugin in C, made by toolhost new. Build: make. The ABI and its rules are in
         * toolhost/toolhost.h; toolhost/toolhost_json.h reads arguments and writes escaped JSON. */
        #include <toolhost/toolhost_json.h>

        /* greet: {"name": string} -> {"greeting": "hello, <name>"}. The arguments are canonical JSON, already checked
         * against the manifest's inputSchema. */
        static int32_t greet(const toolhost_call *call, const char *args, size_t len) {
            char name[256];
            size_t n = 0;
            if (toolhost_json_get_string(args, len, "name", name, sizeof name, &n) != TOOLHOST_JSON_OK)
                return toolhost_json_fail(call, TOOLHOST_ERR_INVALID_ARGUMENTS, "\\"name\\": at most 255 bytes, please");
            int failed = toolhost_json_write_raw(call, "{\\"greeting\\":\\"hello, ")
                         || toolhost_json_write_escaped(call, name, n) || toolhost_json_write_raw(call, "\\"}");
            return failed ? TOOLHOST_ERR_FAILED : TOOLHOST_OK;
        }

        static int32_t init(const toolhost_host_api *host, const toolhost_registrar *reg, void **state) {
            (void)host;
            (void)state;
            toolhost_tool_desc tool = {sizeof tool, TOOLHOST_TOOL_THREAD_SAFE, "greet", "Say hello.", greet, NULL};
            return reg->register_tool(reg, &tool) == 0 ? TOOLHOST_OK : TOOLHOST_ERR_FAILED;
        }

        static const toolhost_plugin_desc plugin = {
            sizeof plugin, TOOLHOST_ABI_MAJOR, TOOLHOST_ABI_MINOR, 0, "\(name)", "0.1.0", init, NULL};

        TOOLHOST_EXPORT const toolhost_plugin_desc *toolhost_plugin_entry(uint32_t major, uint32_t minor) {
            (void)major;
            (void)minor;
            return &plugin;
        }

        """
    }

    var cppSource: String {
        """
        // \(name): a toolhost plugin in C++, made by toolhost new. Build: make. The ABI and its rules are in
        // toolhost/toolhost.h (it declares the entry with C linkage); toolhost/toolhost_json.h reads arguments and
        // writes escaped JSON.
        #include <toolhost/toolhost_json.h>

        #include <exception>
        #include <string>

        namespace {

        // greet: {"name": string} -> {"greeting": "hello, <name>"}. No exception may cross the ABI: the handler
        // catches them all and answers an error.
        int32_t greet(const toolhost_call *call, const char *args, size_t len) noexcept {
            try {
                char name[256];
                size_t n = 0;
                if (toolhost_json_get_string(args, len, "name", name, sizeof name, &n) != TOOLHOST_JSON_OK)
                    return toolhost_json_fail(call, TOOLHOST_ERR_INVALID_ARGUMENTS, "\\"name\\": at most 255 bytes, please");
                const std::string greeting = "hello, " + std::string(name, n);
                bool failed = toolhost_json_write_raw(call, "{\\"greeting\\":\\"")
                              || toolhost_json_write_escaped(call, greeting.data(), greeting.size())
                              || toolhost_json_write_raw(call, "\\"}");
                return failed ? TOOLHOST_ERR_FAILED : TOOLHOST_OK;
            } catch (const std::exception &error) {
                return toolhost_json_fail(call, TOOLHOST_ERR_FAILED, error.what());
            } catch (...) {
                return toolhost_json_fail(call, TOOLHOST_ERR_FAILED, "an unknown C++ exception");
            }
        }

        int32_t init(const toolhost_host_api *, const toolhost_registrar *reg, void **) noexcept {
            toolhost_tool_desc tool = {sizeof tool, TOOLHOST_TOOL_THREAD_SAFE, "greet", "Say hello.", greet, nullptr};
            return reg->register_tool(reg, &tool) == 0 ? TOOLHOST_OK : TOOLHOST_ERR_FAILED;
        }

        const toolhost_plugin_desc plugin = {
            sizeof plugin, TOOLHOST_ABI_MAJOR, TOOLHOST_ABI_MINOR, 0, "\(name)", "0.1.0", init, nullptr};

        }  // namespace

        TOOLHOST_EXPORT const toolhost_plugin_desc *toolhost_plugin_entry(uint32_t, uint32_t) { return &plugin; }

        """
    }

    var exportsMap: String {
        """
        /* The library exports the toolhost entry and nothing else (linked with -Wl,--version-script). */
        {
            global: toolhost_plugin_entry;
            local: *;
        };

        """
    }

    var cargoManifest: String {
        """
        [package]
        name = "\(name)"
        version = "0.1.0"
        edition = "2021"
        publish = false

        [lib]
        crate-type = ["cdylib"]
        path = "src/lib.rs"

        # The SDK by path: no registry is needed (cargo build --offline).
        [dependencies]
        toolhost = { path = "\(sdk)/rust" }

        [profile.release]
        # A panic must unwind to the SDK's boundary, which turns it into the call's error (never "abort").
        panic = "unwind"

        """
    }

    var rustSource: String {
        """
        //! \(name): a toolhost plugin in Rust, made by toolhost new. Build: make.

        use toolhost::{json, Call, Error, Tool};

        /// `{"name": string}` → `{"greeting": "hello, <name>"}`. The arguments are canonical JSON, already checked
        /// against the manifest's inputSchema; a panic here comes back as the call's error.
        fn greet(_call: &Call, args: &str) -> Result<String, Error> {
            let args = json::parse(args)?;
            let name = args.str_member("name")?;
            Ok(format!("{{\\"greeting\\":{}}}", json::string(&format!("hello, {name}"))))
        }

        toolhost::plugin! {
            name: c"\(name)",
            version: c"0.1.0",
            tools: [Tool::new(c"greet", c"Say hello.", greet).thread_safe()],
        }

        """
    }
}
