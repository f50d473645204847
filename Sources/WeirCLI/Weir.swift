import ArgumentParser

/// `weir`: the command-line entry point.
@main
struct Weir: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weir",
        abstract: "Weir: a stream-processing engine for real-time ML features and drift.",
        subcommands: [DemoCommand.self, RunCommand.self, ReplayCommand.self, ProfileCommand.self, ValidateCommand.self, CompareCommand.self, GenerateCommand.self, ProduceCommand.self, BrokerCommand.self, DashboardCommand.self]
    )
}
