import Foundation

/// `mpirun` jobs of the built `tessera`, kept on this host: shared memory and loopback
/// only, allowed to run as root and to place more processes than cores.
enum MPIJob {
    /// The environment that keeps Open MPI local.
    static let environment: [String: String] = ProcessInfo.processInfo.environment.merging([
        "OMPI_MCA_btl": "self,vader",
        "OMPI_MCA_oob_tcp_if_include": "lo",
        "OMPI_MCA_btl_tcp_if_include": "lo",
        "OMPI_ALLOW_RUN_AS_ROOT": "1",
        "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
        "OMPI_MCA_rmaps_base_oversubscribe": "1",
    ]) { $1 }

    /// A started `mpirun -np processes tessera arguments…`; `apps` adds further
    /// `: -np 1 tessera …` parts, each with arguments of its own.
    static func start(processes: Int, _ arguments: [String], apps: [[String]] = []) throws -> (Process, Pipe) {
        let tessera = try TesseraProcess.executable.path
        var line = ["-np", String(processes), tessera] + arguments
        for app in apps { line += [":", "-np", "1", tessera] + app }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/mpirun")
        process.arguments = line
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        return (process, pipe)
    }

    /// Runs the job to its end: its exit status and output.
    static func run(processes: Int, _ arguments: [String], apps: [[String]] = []) throws -> TesseraProcess.Result {
        let (process, pipe) = try start(processes: processes, arguments, apps: apps)
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return TesseraProcess.Result(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }

    /// The process id of rank `rank` of a running job whose command line holds `marker`.
    static func processID(ofRank rank: Int, marker: String) -> Int32? {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let id = Int32(entry),
                  let command = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"),
                  String(decoding: command, as: UTF8.self).contains(marker),
                  let environment = FileManager.default.contents(atPath: "/proc/\(entry)/environ")
            else { continue }
            let variables = environment.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if variables.contains("OMPI_COMM_WORLD_RANK=\(rank)") { return id }
        }
        return nil
    }
}
