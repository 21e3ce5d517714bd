using Spectre.Console;

namespace FeedHandlers.Tests;

/// <summary>
/// Points Spectre's <see cref="AnsiConsole.Console"/> at a string, plain (no ANSI, no colour) and 300
/// columns wide so tables do not wrap, for a CLI command run in-process; <see cref="Dispose"/> puts the
/// previous console back.
/// </summary>
internal sealed class SpectreCapture : IDisposable
{
    private readonly StringWriter _writer = new();
    private readonly IAnsiConsole _previous = AnsiConsole.Console;

    public SpectreCapture()
    {
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings { Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Out = new AnsiConsoleOutput(_writer) });
        console.Profile.Width = 300;
        AnsiConsole.Console = console;
    }

    /// <summary>Everything written so far.</summary>
    public string Text => _writer.ToString();

    public void Dispose() => AnsiConsole.Console = _previous;
}
