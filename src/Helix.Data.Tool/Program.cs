// helix: compare and repair the two strands of a Helix.Data connection string (docs/operations.md).
return await Helix.Data.Tool.Cli.RunAsync(args, Console.Out, Console.Error);
