import ArgumentParser

/// The `tessera` command: train, evaluate and benchmark convolutional models on the CPU.
@main
struct TesseraCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tessera",
        abstract: "A CPU engine for convolutional encoder-decoders on OpenBLAS.",
        subcommands: [SelfCheckCommand.self, BenchCommand.self]
    )
}
