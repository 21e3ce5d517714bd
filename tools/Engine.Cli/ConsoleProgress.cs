using Spectre.Console;

namespace Engine.Cli;

/// <summary>
/// A transient Spectre.Console status line (spinner and text) around long operations — loading and
/// merging large logs, a replay — shown only on an interactive terminal. When stdout is redirected (CI
/// logs, tests, pipes) the work runs plainly and nothing extra is written, so printed output is the same.
/// </summary>
internal static class ConsoleProgress
{
    /// <summary>True when a status line would be drawn: stdout is a terminal that Spectre can redraw.</summary>
    public static bool Enabled => ShouldShow(Console.IsOutputRedirected, AnsiConsole.Profile.Capabilities.Interactive);

    /// <summary>The rule: only on a terminal that is interactive.</summary>
    public static bool ShouldShow(bool outputRedirected, bool interactive) => !outputRedirected && interactive;

    /// <summary>Runs <paramref name="work"/> under a status line saying <paramref name="what"/>; the line is cleared when it ends.</summary>
    public static T Run<T>(string what, Func<T> work) => Run(what, null, work);

    /// <summary>
    /// Runs <paramref name="work"/> under a status line; every 250 ms <paramref name="progress"/> (called on
    /// a timer thread, so it must only read) supplies text appended to <paramref name="what"/>.
    /// </summary>
    public static T Run<T>(string what, Func<string>? progress, Func<T> work)
    {
        if (!Enabled)
        {
            return work();
        }

        return AnsiConsole.Status().Spinner(Spinner.Known.Dots).Start(Markup.Escape(what), ctx =>
        {
            using Timer? timer = progress is null ? null : new Timer(_ => ctx.Status(Markup.Escape($"{what}: {progress()}")), null, 250, 250);
            return work();
        });
    }
}
