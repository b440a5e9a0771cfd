"""The interview: questions as data, asked through a Prompter."""
