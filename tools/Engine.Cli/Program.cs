using Spectre.Console;

namespace Engine.Cli;

internal static class Program
{
    private static int Main(string[] args)
    {
        if (Console.IsOutputRedirected)
        {
            // Logs and CI capture: do not wrap at the 80 columns Spectre assumes without a terminal.
            AnsiConsole.Profile.Width = 160;
        }

        return Commands.Build().Parse(args).Invoke();
    }
}
