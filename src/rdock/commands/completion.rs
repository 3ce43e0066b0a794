//! `rdock completion bash|zsh|fish|powershell`: the shell's completion
//! script, generated from the CLI definition (`make install` installs the
//! same scripts, made by `src/docgen`). As Debian's docker 20.10, no shell or
//! an unknown one prints the usage on stdout and succeeds.
use crate::cli::{Cli, CompletionArgs};
use anyhow::Result;
use clap::CommandFactory;
use clap_complete::Shell;
use std::io::Write;

/// The shells, with the words docker's usage gives them.
const SHELLS: &[(&str, Shell)] = &[
    ("bash", Shell::Bash),
    ("fish", Shell::Fish),
    ("powershell", Shell::PowerShell),
    ("zsh", Shell::Zsh),
];

pub fn run(a: CompletionArgs) -> Result<i32> {
    let shell = a
        .shell
        .as_deref()
        .and_then(|name| SHELLS.iter().find(|(n, _)| *n == name));
    let mut out = std::io::stdout().lock();
    match shell {
        Some((_, shell)) => write(*shell, &mut out),
        None => out.write_all(usage().as_bytes()),
    }?;
    out.flush()?;
    Ok(0)
}

/// Writes rdock's completion script for `shell`.
pub fn write(shell: Shell, out: &mut dyn Write) -> std::io::Result<()> {
    script(Cli::command(), "rdock", shell, out);
    Ok(())
}

/// Writes the completion script of the program `name`, whose grammar is
/// `cmd` (also used for runr's, by `src/docgen`).
pub fn script(cmd: clap::Command, name: &'static str, shell: Shell, out: &mut dyn Write) {
    clap_complete::generate(shell, &mut visible(cmd, name), name, out);
}

/// `cmd` without its hidden subcommands and flags (clap_complete offers
/// whatever it is given; rdock's `container-monitor` is not for users).
/// clap cannot remove a subcommand, so the top command is rebuilt.
fn visible(cmd: clap::Command, name: &'static str) -> clap::Command {
    clap::Command::new(name)
        .about(cmd.get_about().cloned().unwrap_or_default())
        .args(cmd.get_arguments().filter(|a| !a.is_hide_set()).cloned())
        .subcommands(cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned())
}

/// docker's text for `docker completion`, for rdock.
fn usage() -> String {
    let mut s = String::from(
        "\nUsage:  rdock completion COMMAND\n\n\
         Generate the autocompletion script for rdock for the specified shell.\n\
         See each sub-command's help for details on how to use the generated script.\n\n\
         Commands:\n",
    );
    for (name, _) in SHELLS {
        s += &format!("  {name:<10}  Generate the autocompletion script for {name}\n");
    }
    s += "\nRun 'rdock completion COMMAND --help' for more information on a command.\n";
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bash_script_completes_the_subcommands() {
        let mut buf = Vec::new();
        write(Shell::Bash, &mut buf).unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert!(text.contains("_rdock()"), "{text}");
        assert!(text.contains(" run "), "run missing");
        assert!(
            !text.contains("container-monitor"),
            "a hidden command is offered"
        );
    }

    #[test]
    fn usage_lists_the_shells_as_docker_does() {
        let u = usage();
        assert!(u.starts_with("\nUsage:  rdock completion COMMAND\n"), "{u}");
        assert!(u.contains("\n  bash        Generate the autocompletion script for bash\n"));
        assert!(u.contains("\n  zsh         Generate the autocompletion script for zsh\n"));
    }
}
