"""The offline demo and sandbox: the built-in Bot API stand-in, a fast clock, the scripted
scenario of simulated officers and the web chat a trainee watches. Nothing here runs in production."""
