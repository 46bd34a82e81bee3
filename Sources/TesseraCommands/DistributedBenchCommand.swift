import ArgumentParser
import Foundation
import Tessera

/// `tessera bench distributed`: data-parallel training over processes on this host
/// against one process with as many threads, in the same run.
struct DistributedBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distributed",
        abstract: "Data-parallel training steps under mpirun (N processes × 1 thread) against 1 process × N threads.",
        discussion: """
            Runs `tessera bench step` in one process with N threads, then under `mpirun -np N` \\
            with one thread per process, in turn for --rounds rounds, keeping each one's fastest. \\
            Each process trains on a batch of the configuration's size (as DDP: the batch is per \\
            process), and images per second count the whole job. mpirun is kept on this host: \\
            shared memory and loopback only.
            """)

    @Option(parsing: .upToNextOption, help: "Configurations to run (i, ii, iii).")
    var config: [BenchConfiguration] = [.i]
    @Option(help: "Processes (and the single process's threads).")
    var processes = CoreBudget.current.threads
    @Option(help: "Measure this many times in turn and keep each side's fastest round.")
    var rounds = 2

    func validate() throws {
        guard processes >= 2 else { throw ValidationError("--processes must be at least 2, got \(processes)") }
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1, got \(rounds)") }
    }

    /// Open MPI on this host only, allowed as root.
    static let localEnvironment = [
        "OMPI_MCA_btl": "self,vader", "OMPI_MCA_oob_tcp_if_include": "lo", "OMPI_MCA_btl_tcp_if_include": "lo",
        "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMPI_MCA_rmaps_base_oversubscribe": "1",
    ]

    func run() throws {
        MachineReport.lines.forEach { print($0) }
        var rows = TextTable([
            "config", "1 process × \(processes) threads img/s", "\(processes) processes × 1 thread img/s", "ratio",
            "all-reduce ms/step", "hidden behind backward",
        ])
        for configuration in config {
            var single: [StepBenchResult] = [], parallel: [StepBenchResult] = []
            let step = ["step", "--config", configuration.rawValue, "--json"]
            for _ in 0..<rounds {
                single.append(try BenchProcess.decode(BenchProcess.capture(
                    BenchProcess.selfArguments(step + ["--threads", String(processes)]))))
                parallel.append(try BenchProcess.decode(BenchProcess.capture(
                    ["/usr/bin/env", "mpirun", "-np", String(processes)] + BenchProcess.selfArguments(step + ["--threads", "1"]),
                    environment: Self.localEnvironment)))
            }
            let one = single.max { $0.imagesPerSecond < $1.imagesPerSecond }!
            let many = parallel.max { $0.imagesPerSecond < $1.imagesPerSecond }!
            rows.append([
                configuration.label, String(format: "%.1f", one.imagesPerSecond),
                String(format: "%.1f", many.imagesPerSecond), String(format: "%.2f×", many.imagesPerSecond / one.imagesPerSecond),
                String(format: "%.1f", many.allReduceMilliseconds ?? 0), String(format: "%.0f %%", 100 * (many.hiddenFraction ?? 1)),
            ])
        }
        print("ratio: the job's images per second over the single process's (each process trains on a whole batch)")
        print(rows.rendered)
    }
}
