using System.CommandLine;
using System.Globalization;
using Engine.Native;
using Spectre.Console;

namespace Engine.Cli;

/// <summary><c>engine doctor</c>: the latency hazards of this machine, each saying whether it took effect.</summary>
internal static partial class Commands
{
    private static Command DoctorCommand()
    {
        var cores = new Option<string?>("--cores") { Description = "CPUs the critical stages will be pinned to, in the kernel's list syntax (0,1 or 2-3); default: judge every online CPU." };
        var mlockall = new Option<bool>("--mlockall") { Description = "Call mlockall(MCL_CURRENT|MCL_FUTURE) in this process and report whether it took effect." };
        var noRoundTrip = new Option<bool>("--no-round-trip") { Description = "Skip the core-to-core cache-line round-trip measurement (it burns two CPUs for up to a second)." };
        var command = new Command("doctor", "Report latency hazards: SMT siblings, isolated (isolcpus) and tickless (nohz_full) cores, frequency governor, clock source and its read cost, transparent huge pages, memory-lock limit; optionally mlockall and pinning probes. Each line says whether it took effect.")
        {
            cores, mlockall, noRoundTrip,
        };
        command.SetAction(r => Doctor(r.GetValue(cores), r.GetValue(mlockall), !r.GetValue(noRoundTrip)));
        return command;
    }

    internal static int Doctor(string? cores, bool lockMemory, bool roundTrip)
    {
        IReadOnlyList<int> stageCores = [];
        if (cores is not null && (!CpuList.TryParse(cores, out stageCores) || stageCores.Count == 0))
        {
            AnsiConsole.MarkupLine("[red]error:[/] --cores {0}: expected a CPU list such as 0,1 or 2-3", Markup.Escape(cores));
            return 2;
        }

        IReadOnlyList<DoctorFinding> findings = LatencyDoctor.Run(new DoctorOptions { StageCores = stageCores, LockMemory = lockMemory, MeasureRoundTrip = roundTrip });
        AnsiConsole.MarkupLine(CultureInfo.InvariantCulture, "[bold]engine doctor[/] {0}, stage cores: {1}", Markup.Escape(Environment.MachineName), stageCores.Count == 0 ? "not given (every online CPU judged)" : CpuList.Format(stageCores));
        var table = new Table().AddColumn("check").AddColumn("status").AddColumn("observed").AddColumn("what it means");
        foreach (DoctorFinding f in findings)
        {
            string status = f.Status switch
            {
                DoctorStatus.Ok => "[green]ok[/]",
                DoctorStatus.Hazard => "[yellow]hazard[/]",
                _ => "[blue]info[/]",
            };
            table.AddRow(Markup.Escape(f.Check), status, Markup.Escape(f.Observed), Markup.Escape(f.Meaning));
        }

        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine(CultureInfo.InvariantCulture, "{0} hazard(s), {1} ok, {2} info",
            findings.Count(f => f.Status == DoctorStatus.Hazard), findings.Count(f => f.Status == DoctorStatus.Ok), findings.Count(f => f.Status == DoctorStatus.Info));
        return 0;
    }
}
