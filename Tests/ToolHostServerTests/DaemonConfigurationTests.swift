import Testing
import ToolHost
import ToolHostServer

/// Reading the daemon's settings: each source alone, their precedence, and refusals that name the key.
@Suite struct DaemonConfigurationTests {
    static let file = Array(
        """
        {
          "listen": "127.0.0.1:9000", "pluginsDirectory": "/srv/plugins", "graceSeconds": 3,
          "defaultTimeoutMs": 5000, "isolation": "process", "logLevel": "debug",
          "limits": {"maxConcurrentCalls": 8, "maxQueuedCalls": 16, "awakeWaitMicroseconds": 0},
          "cache": {"maxBytes": 1024},
          "pluginOverrides": {"textkit": {"timeoutMs": 250, "maxConcurrency": 2, "isolation": "inprocess",
                                          "tools": {"regex": {"timeoutMs": 100, "maxConcurrency": 1, "cacheTTLSeconds": 0}}}}
        }
        """.utf8)

    @Test func theFileSetsWhatItNames() throws {
        var settings = DaemonConfiguration()
        try settings.apply(fileContents: Self.file, source: "test")
        #expect(settings.listen == "127.0.0.1:9000")
        #expect(settings.pluginsDirectory == "/srv/plugins")
        #expect(settings.graceSeconds == 3)
        #expect(settings.maxConcurrentCalls == 8)
        #expect(settings.maxQueuedCalls == 16)
        #expect(settings.defaultPluginConcurrency == 64, "not in the file: the default")
        #expect(settings.cacheMaxBytes == 1024)
        #expect(
            settings.pluginPolicies["textkit"]
                == .init(
                    timeoutMs: 250, maxConcurrency: 2,
                    tools: ["regex": .init(timeoutMs: 100, maxConcurrency: 1, cacheTTLSeconds: 0)]))
        let host = settings.hostConfiguration(allowedSystemLibraries: [])
        #expect(host.limits.maxQueuedCalls == 16)
        #expect(host.limits.awakeWait == .zero, "0: a lone call always suspends")
        #expect(
            DaemonConfiguration().hostConfiguration(allowedSystemLibraries: []).limits.awakeWait == .microseconds(20))
        #expect(host.defaultTimeout == .seconds(5))
        #expect(host.isolation.mode == .process)
        #expect(host.isolation.overrides["textkit"] == .inprocess)
        #expect(host.pluginPolicies["textkit"]?.timeoutMs == 250)
    }

    @Test func flagsBeatTheEnvironmentWhichBeatsTheFile() throws {
        var settings = DaemonConfiguration()
        try settings.apply(fileContents: Self.file, source: "test")
        try settings.apply(environment: [
            "TOOLHOST_LISTEN": "127.0.0.1:9100", "TOOLHOST_MAX_QUEUED_CALLS": "32", "TOOLHOST_GRACE_SECONDS": "",
        ])
        try settings.apply(flags: [("--listen", "127.0.0.1:9200")])
        #expect(settings.listen == "127.0.0.1:9200", "flag over environment over file")
        #expect(settings.maxQueuedCalls == 32, "environment over file")
        #expect(settings.maxConcurrentCalls == 8, "file over default")
        #expect(settings.graceSeconds == 3, "an empty variable counts as unset")
        #expect(settings.sources == ["environment", "flags"])
    }

    @Test(arguments: [
        (#"{"nope": 1}"#, "'nope' is not a known key"),
        (#"{"cache": {"maxbytes": 1}}"#, "'cache.maxbytes' is not a known key"),
        (#"{"limits": 4}"#, "'limits' must be an object"),
        (#"{"limits": {"maxQueuedCalls": -1}}"#, "'limits.maxQueuedCalls' must be an integer ≥ 0"),
        (
            #"{"limits": {"awakeWaitMicroseconds": 5000}}"#,
            "'limits.awakeWaitMicroseconds' must be an integer in 0...1000"
        ),
        (#"{"graceSeconds": "10s"}"#, "'graceSeconds' must be a number of seconds"),
        (#"{"isolation": "vm"}"#, "'isolation' must be inprocess or process"),
        (#"{"pluginOverrides": {"a": {"maxConcurrency": 0}}}"#, "'pluginOverrides.a.maxConcurrency' must be"),
        (#"{"pluginOverrides": {"a": {"tools": []}}}"#, "'pluginOverrides.a.tools' must be an object"),
        (
            #"{"pluginOverrides": {"a": {"tools": {"t": {"timeout": 1}}}}}"#,
            "'pluginOverrides.a.tools.t.timeout' is not a known key"
        ),
        (
            #"{"pluginOverrides": {"a": {"tools": {"t": {"maxConcurrency": 0}}}}}"#,
            "'pluginOverrides.a.tools.t.maxConcurrency' must be an integer in 1...4096"
        ),
        // Numbers that would overflow a deadline or a TTL are refused where they enter.
        (#"{"defaultTimeoutMs": 9223372036855}"#, "'defaultTimeoutMs' must be an integer in 1...86400000"),
        (
            #"{"pluginOverrides": {"a": {"timeoutMs": 9223372036855}}}"#,
            "'pluginOverrides.a.timeoutMs' must be an integer in 1...86400000"
        ),
        (
            #"{"pluginOverrides": {"a": {"tools": {"t": {"timeoutMs": 0}}}}}"#,
            "'pluginOverrides.a.tools.t.timeoutMs' must be an integer in 1...86400000"
        ),
        (
            #"{"pluginOverrides": {"a": {"cacheTTLSeconds": 1e300}}}"#,
            "'pluginOverrides.a.cacheTTLSeconds' must be a number of seconds in 0...31536000"
        ),
        (#"{"graceSeconds": 1e300}"#, "'graceSeconds' must be a number of seconds in 0...3600"),
        ("[1]", "must hold a JSON object"),
    ])
    func aBadFileNamesTheKey(text: String, message: String) {
        var settings = DaemonConfiguration()
        #expect {
            try settings.apply(fileContents: Array(text.utf8), source: "config file x.json")
        } throws: { error in
            "\(error)".contains(message) && "\(error)".hasPrefix("config file x.json")
        }
    }

    @Test func aBadVariableOrFlagNamesIt() {
        var settings = DaemonConfiguration()
        #expect {
            try settings.apply(environment: ["TOOLHOST_DEFAULT_TIMEOUT_MS": "0"])
        } throws: { "\($0)".contains("TOOLHOST_DEFAULT_TIMEOUT_MS") }
        #expect {
            try settings.apply(flags: [("--listen", "8080")])
        } throws: { "\($0)".contains("--listen") }
        #expect {
            try settings.apply(flags: [("--awake-wait-us", "-1")])
        } throws: { "\($0)".contains("--awake-wait-us") && "\($0)".contains("0...1000") }
    }
}
