import ArgumentParser

/// `tessera bench`: speed measurements of the engine.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the engine's speed (build with -c release).",
        subcommands: [SuiteBenchCommand.self, GemmBenchCommand.self, ConvBenchCommand.self, StepBenchCommand.self, DistributedBenchCommand.self],
        defaultSubcommand: SuiteBenchCommand.self
    )
}
