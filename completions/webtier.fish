# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_webtier_global_optspecs
    string join \n config= output= json q/quiet v/verbose no-color y/yes h/help V/version
end

function __fish_webtier_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_webtier_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_webtier_using_subcommand
    set -l cmd (__fish_webtier_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c webtier -n "__fish_webtier_needs_command" -l config -d 'Path of the configuration file [default: webtier.toml]' -r -F
complete -c webtier -n "__fish_webtier_needs_command" -l output -d 'Output format' -r -f -a "text\t''
json\t''"
complete -c webtier -n "__fish_webtier_needs_command" -l json -d 'Short for --output json'
complete -c webtier -n "__fish_webtier_needs_command" -s q -l quiet -d 'Print only results and errors: no progress or informational lines'
complete -c webtier -n "__fish_webtier_needs_command" -s v -l verbose -d 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
complete -c webtier -n "__fish_webtier_needs_command" -l no-color -d 'Never use colors (also when NO_COLOR is set)'
complete -c webtier -n "__fish_webtier_needs_command" -s y -l yes -d 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
complete -c webtier -n "__fish_webtier_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c webtier -n "__fish_webtier_needs_command" -s V -l version -d 'Print version'
complete -c webtier -n "__fish_webtier_needs_command" -f -a "init" -d 'Write webtier.toml (asking on a terminal, or from flags) and take this machine all the way: firewall, DNS, proxy, certificate, renewal'
complete -c webtier -n "__fish_webtier_needs_command" -f -a "plan" -d 'Show what webtier would change, without changing anything'
complete -c webtier -n "__fish_webtier_needs_command" -f -a "apply" -d 'Make the changes, after confirmation (or a saved plan, exactly)'
complete -c webtier -n "__fish_webtier_needs_command" -f -a "destroy" -d 'Remove what webtier created, and nothing else: its security-group rules, its DNS records, the proxy service, the renewal schedule (certificates are kept unless --revoke); after confirmation'
complete -c webtier -n "__fish_webtier_needs_command" -f -a "status" -d 'Check every site: ports open, DNS records and resolution, certificate and renewal, proxy, served certificate, upstreams (exit 1 when a check fails)'
complete -c webtier -n "__fish_webtier_needs_command" -f -a "firewall" -d 'Security-group ingress for ports 80/443 on the target instances'
complete -c webtier -n "__fish_webtier_needs_command" -f -a "dns" -d 'Route 53 records for every site name'
complete -c webtier -n "__fish_webtier_needs_command" -f -a "cert" -d 'Certificates: issue, renew (from cron), status'
complete -c webtier -n "__fish_webtier_needs_command" -f -a "config" -d 'Check or show the configuration'
complete -c webtier -n "__fish_webtier_needs_command" -f -a "proxy" -d 'The bundled proxy: run it, validate its configuration, reload it'
complete -c webtier -n "__fish_webtier_needs_command" -f -a "iam-policy" -d 'Print the least-privilege IAM policy for the configured steps (JSON)'
complete -c webtier -n "__fish_webtier_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c webtier -n "__fish_webtier_needs_command" -f -a "man" -d 'Print the man page webtier(1) (roff), or write it and the page of every subcommand it refers to into a directory'
complete -c webtier -n "__fish_webtier_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c webtier -n "__fish_webtier_using_subcommand init" -l domain -d 'The site\'s domain (asked on a terminal when missing)' -r
complete -c webtier -n "__fish_webtier_using_subcommand init" -l alias -d 'Another name of the site (repeat for several)' -r
complete -c webtier -n "__fish_webtier_using_subcommand init" -l email -d 'Contact email for the certificate authority' -r
complete -c webtier -n "__fish_webtier_using_subcommand init" -l upstream -d 'The app\'s address, HOST:PORT [default: 127.0.0.1:8000 when something listens there]' -r
complete -c webtier -n "__fish_webtier_using_subcommand init" -l instance -d 'The EC2 instance to open and point the names at: `self` or an id [default: self]' -r
complete -c webtier -n "__fish_webtier_using_subcommand init" -l tls -d 'Certificates: from an ACME CA (Let\'s Encrypt); from AWS Certificate Manager, exported to this instance (charged by AWS per issuance and renewal) or kept in ACM for a load balancer or CloudFront; or none (plain HTTP)' -r -f -a "acme\t''
acm-export\t''
acm-managed\t''
none\t''"
complete -c webtier -n "__fish_webtier_using_subcommand init" -l region -d 'AWS region [default: the standard chain: AWS_REGION, profile, the instance\'s own]' -r
complete -c webtier -n "__fish_webtier_using_subcommand init" -l acme-directory -d 'ACME directory: letsencrypt, letsencrypt-staging or an https:// URL [default: letsencrypt]' -r
complete -c webtier -n "__fish_webtier_using_subcommand init" -l ca-root -d 'An extra trust root (PEM) for the ACME server\'s own HTTPS, for a test CA' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand init" -l config -d 'Path of the configuration file [default: webtier.toml]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand init" -l output -d 'Output format' -r -f -a "text\t''
json\t''"
complete -c webtier -n "__fish_webtier_using_subcommand init" -l force -d 'Overwrite an existing configuration file that differs'
complete -c webtier -n "__fish_webtier_using_subcommand init" -l json -d 'Short for --output json'
complete -c webtier -n "__fish_webtier_using_subcommand init" -s q -l quiet -d 'Print only results and errors: no progress or informational lines'
complete -c webtier -n "__fish_webtier_using_subcommand init" -s v -l verbose -d 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
complete -c webtier -n "__fish_webtier_using_subcommand init" -l no-color -d 'Never use colors (also when NO_COLOR is set)'
complete -c webtier -n "__fish_webtier_using_subcommand init" -s y -l yes -d 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
complete -c webtier -n "__fish_webtier_using_subcommand init" -s h -l help -d 'Print help'
complete -c webtier -n "__fish_webtier_using_subcommand init" -s V -l version -d 'Print version'
complete -c webtier -n "__fish_webtier_using_subcommand plan" -l out -d 'Save the plan to FILE, for `webtier apply FILE`' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand plan" -l config -d 'Path of the configuration file [default: webtier.toml]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand plan" -l output -d 'Output format' -r -f -a "text\t''
json\t''"
complete -c webtier -n "__fish_webtier_using_subcommand plan" -l destroy -d 'Plan `webtier destroy`: what removing webtier\'s resources would do'
complete -c webtier -n "__fish_webtier_using_subcommand plan" -l revoke -d 'With --destroy: also revoke the certificates'
complete -c webtier -n "__fish_webtier_using_subcommand plan" -l detailed-exitcode -d 'Exit 2 when the plan has changes (0: none, 1: error)'
complete -c webtier -n "__fish_webtier_using_subcommand plan" -l prune -d 'firewall: also remove rules webtier added that are no longer desired (never others)'
complete -c webtier -n "__fish_webtier_using_subcommand plan" -l adopt -d 'dns: take over address records of the site names that webtier did not create'
complete -c webtier -n "__fish_webtier_using_subcommand plan" -l json -d 'Short for --output json'
complete -c webtier -n "__fish_webtier_using_subcommand plan" -s q -l quiet -d 'Print only results and errors: no progress or informational lines'
complete -c webtier -n "__fish_webtier_using_subcommand plan" -s v -l verbose -d 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
complete -c webtier -n "__fish_webtier_using_subcommand plan" -l no-color -d 'Never use colors (also when NO_COLOR is set)'
complete -c webtier -n "__fish_webtier_using_subcommand plan" -s y -l yes -d 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
complete -c webtier -n "__fish_webtier_using_subcommand plan" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c webtier -n "__fish_webtier_using_subcommand plan" -s V -l version -d 'Print version'
complete -c webtier -n "__fish_webtier_using_subcommand apply" -l config -d 'Path of the configuration file [default: webtier.toml]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand apply" -l output -d 'Output format' -r -f -a "text\t''
json\t''"
complete -c webtier -n "__fish_webtier_using_subcommand apply" -l prune -d 'firewall: also remove rules webtier added that are no longer desired (never others)'
complete -c webtier -n "__fish_webtier_using_subcommand apply" -l adopt -d 'dns: take over address records of the site names that webtier did not create'
complete -c webtier -n "__fish_webtier_using_subcommand apply" -l json -d 'Short for --output json'
complete -c webtier -n "__fish_webtier_using_subcommand apply" -s q -l quiet -d 'Print only results and errors: no progress or informational lines'
complete -c webtier -n "__fish_webtier_using_subcommand apply" -s v -l verbose -d 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
complete -c webtier -n "__fish_webtier_using_subcommand apply" -l no-color -d 'Never use colors (also when NO_COLOR is set)'
complete -c webtier -n "__fish_webtier_using_subcommand apply" -s y -l yes -d 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
complete -c webtier -n "__fish_webtier_using_subcommand apply" -s h -l help -d 'Print help'
complete -c webtier -n "__fish_webtier_using_subcommand apply" -s V -l version -d 'Print version'
complete -c webtier -n "__fish_webtier_using_subcommand destroy" -l config -d 'Path of the configuration file [default: webtier.toml]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand destroy" -l output -d 'Output format' -r -f -a "text\t''
json\t''"
complete -c webtier -n "__fish_webtier_using_subcommand destroy" -l revoke -d 'Also revoke the certificates at the CA (they stay in the archive)'
complete -c webtier -n "__fish_webtier_using_subcommand destroy" -l json -d 'Short for --output json'
complete -c webtier -n "__fish_webtier_using_subcommand destroy" -s q -l quiet -d 'Print only results and errors: no progress or informational lines'
complete -c webtier -n "__fish_webtier_using_subcommand destroy" -s v -l verbose -d 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
complete -c webtier -n "__fish_webtier_using_subcommand destroy" -l no-color -d 'Never use colors (also when NO_COLOR is set)'
complete -c webtier -n "__fish_webtier_using_subcommand destroy" -s y -l yes -d 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
complete -c webtier -n "__fish_webtier_using_subcommand destroy" -s h -l help -d 'Print help'
complete -c webtier -n "__fish_webtier_using_subcommand destroy" -s V -l version -d 'Print version'
complete -c webtier -n "__fish_webtier_using_subcommand status" -l config -d 'Path of the configuration file [default: webtier.toml]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand status" -l output -d 'Output format' -r -f -a "text\t''
json\t''"
complete -c webtier -n "__fish_webtier_using_subcommand status" -l json -d 'Short for --output json'
complete -c webtier -n "__fish_webtier_using_subcommand status" -s q -l quiet -d 'Print only results and errors: no progress or informational lines'
complete -c webtier -n "__fish_webtier_using_subcommand status" -s v -l verbose -d 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
complete -c webtier -n "__fish_webtier_using_subcommand status" -l no-color -d 'Never use colors (also when NO_COLOR is set)'
complete -c webtier -n "__fish_webtier_using_subcommand status" -s y -l yes -d 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
complete -c webtier -n "__fish_webtier_using_subcommand status" -s h -l help -d 'Print help'
complete -c webtier -n "__fish_webtier_using_subcommand status" -s V -l version -d 'Print version'
complete -c webtier -n "__fish_webtier_using_subcommand firewall; and not __fish_seen_subcommand_from plan apply help" -l config -d 'Path of the configuration file [default: webtier.toml]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand firewall; and not __fish_seen_subcommand_from plan apply help" -l output -d 'Output format' -r -f -a "text\t''
json\t''"
complete -c webtier -n "__fish_webtier_using_subcommand firewall; and not __fish_seen_subcommand_from plan apply help" -l json -d 'Short for --output json'
complete -c webtier -n "__fish_webtier_using_subcommand firewall; and not __fish_seen_subcommand_from plan apply help" -s q -l quiet -d 'Print only results and errors: no progress or informational lines'
complete -c webtier -n "__fish_webtier_using_subcommand firewall; and not __fish_seen_subcommand_from plan apply help" -s v -l verbose -d 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
complete -c webtier -n "__fish_webtier_using_subcommand firewall; and not __fish_seen_subcommand_from plan apply help" -l no-color -d 'Never use colors (also when NO_COLOR is set)'
complete -c webtier -n "__fish_webtier_using_subcommand firewall; and not __fish_seen_subcommand_from plan apply help" -s y -l yes -d 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
complete -c webtier -n "__fish_webtier_using_subcommand firewall; and not __fish_seen_subcommand_from plan apply help" -s h -l help -d 'Print help'
complete -c webtier -n "__fish_webtier_using_subcommand firewall; and not __fish_seen_subcommand_from plan apply help" -s V -l version -d 'Print version'
complete -c webtier -n "__fish_webtier_using_subcommand firewall; and not __fish_seen_subcommand_from plan apply help" -f -a "plan" -d 'Show what this step would change'
complete -c webtier -n "__fish_webtier_using_subcommand firewall; and not __fish_seen_subcommand_from plan apply help" -f -a "apply" -d 'Make this step\'s changes, after confirmation'
complete -c webtier -n "__fish_webtier_using_subcommand firewall; and not __fish_seen_subcommand_from plan apply help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c webtier -n "__fish_webtier_using_subcommand firewall; and __fish_seen_subcommand_from plan" -l out -d 'Save the plan to FILE, for `webtier apply FILE`' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand firewall; and __fish_seen_subcommand_from plan" -l config -d 'Path of the configuration file [default: webtier.toml]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand firewall; and __fish_seen_subcommand_from plan" -l output -d 'Output format' -r -f -a "text\t''
json\t''"
complete -c webtier -n "__fish_webtier_using_subcommand firewall; and __fish_seen_subcommand_from plan" -l detailed-exitcode -d 'Exit 2 when the plan has changes (0: none, 1: error)'
complete -c webtier -n "__fish_webtier_using_subcommand firewall; and __fish_seen_subcommand_from plan" -l prune -d 'firewall: also remove rules webtier added that are no longer desired (never others)'
complete -c webtier -n "__fish_webtier_using_subcommand firewall; and __fish_seen_subcommand_from plan" -l adopt -d 'dns: take over address records of the site names that webtier did not create'
complete -c webtier -n "__fish_webtier_using_subcommand firewall; and __fish_seen_subcommand_from plan" -l json -d 'Short for --output json'
complete -c webtier -n "__fish_webtier_using_subcommand firewall; and __fish_seen_subcommand_from plan" -s q -l quiet -d 'Print only results and errors: no progress or informational lines'
complete -c webtier -n "__fish_webtier_using_subcommand firewall; and __fish_seen_subcommand_from plan" -s v -l verbose -d 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
complete -c webtier -n "__fish_webtier_using_subcommand firewall; and __fish_seen_subcommand_from plan" -l no-color -d 'Never use colors (also when NO_COLOR is set)'
complete -c webtier -n "__fish_webtier_using_subcommand firewall; and __fish_seen_subcommand_from plan" -s y -l yes -d 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
complete -c webtier -n "__fish_webtier_using_subcommand firewall; and __fish_seen_subcommand_from plan" -s h -l help -d 'Print help'
complete -c webtier -n "__fish_webtier_using_subcommand firewall; and __fish_seen_subcommand_from plan" -s V -l version -d 'Print version'
complete -c webtier -n "__fish_webtier_using_subcommand firewall; and __fish_seen_subcommand_from apply" -l config -d 'Path of the configuration file [default: webtier.toml]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand firewall; and __fish_seen_subcommand_from apply" -l output -d 'Output format' -r -f -a "text\t''
json\t''"
complete -c webtier -n "__fish_webtier_using_subcommand firewall; and __fish_seen_subcommand_from apply" -l prune -d 'firewall: also remove rules webtier added that are no longer desired (never others)'
complete -c webtier -n "__fish_webtier_using_subcommand firewall; and __fish_seen_subcommand_from apply" -l adopt -d 'dns: take over address records of the site names that webtier did not create'
complete -c webtier -n "__fish_webtier_using_subcommand firewall; and __fish_seen_subcommand_from apply" -l json -d 'Short for --output json'
complete -c webtier -n "__fish_webtier_using_subcommand firewall; and __fish_seen_subcommand_from apply" -s q -l quiet -d 'Print only results and errors: no progress or informational lines'
complete -c webtier -n "__fish_webtier_using_subcommand firewall; and __fish_seen_subcommand_from apply" -s v -l verbose -d 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
complete -c webtier -n "__fish_webtier_using_subcommand firewall; and __fish_seen_subcommand_from apply" -l no-color -d 'Never use colors (also when NO_COLOR is set)'
complete -c webtier -n "__fish_webtier_using_subcommand firewall; and __fish_seen_subcommand_from apply" -s y -l yes -d 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
complete -c webtier -n "__fish_webtier_using_subcommand firewall; and __fish_seen_subcommand_from apply" -s h -l help -d 'Print help'
complete -c webtier -n "__fish_webtier_using_subcommand firewall; and __fish_seen_subcommand_from apply" -s V -l version -d 'Print version'
complete -c webtier -n "__fish_webtier_using_subcommand firewall; and __fish_seen_subcommand_from help" -f -a "plan" -d 'Show what this step would change'
complete -c webtier -n "__fish_webtier_using_subcommand firewall; and __fish_seen_subcommand_from help" -f -a "apply" -d 'Make this step\'s changes, after confirmation'
complete -c webtier -n "__fish_webtier_using_subcommand firewall; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c webtier -n "__fish_webtier_using_subcommand dns; and not __fish_seen_subcommand_from plan apply help" -l config -d 'Path of the configuration file [default: webtier.toml]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand dns; and not __fish_seen_subcommand_from plan apply help" -l output -d 'Output format' -r -f -a "text\t''
json\t''"
complete -c webtier -n "__fish_webtier_using_subcommand dns; and not __fish_seen_subcommand_from plan apply help" -l json -d 'Short for --output json'
complete -c webtier -n "__fish_webtier_using_subcommand dns; and not __fish_seen_subcommand_from plan apply help" -s q -l quiet -d 'Print only results and errors: no progress or informational lines'
complete -c webtier -n "__fish_webtier_using_subcommand dns; and not __fish_seen_subcommand_from plan apply help" -s v -l verbose -d 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
complete -c webtier -n "__fish_webtier_using_subcommand dns; and not __fish_seen_subcommand_from plan apply help" -l no-color -d 'Never use colors (also when NO_COLOR is set)'
complete -c webtier -n "__fish_webtier_using_subcommand dns; and not __fish_seen_subcommand_from plan apply help" -s y -l yes -d 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
complete -c webtier -n "__fish_webtier_using_subcommand dns; and not __fish_seen_subcommand_from plan apply help" -s h -l help -d 'Print help'
complete -c webtier -n "__fish_webtier_using_subcommand dns; and not __fish_seen_subcommand_from plan apply help" -s V -l version -d 'Print version'
complete -c webtier -n "__fish_webtier_using_subcommand dns; and not __fish_seen_subcommand_from plan apply help" -f -a "plan" -d 'Show what this step would change'
complete -c webtier -n "__fish_webtier_using_subcommand dns; and not __fish_seen_subcommand_from plan apply help" -f -a "apply" -d 'Make this step\'s changes, after confirmation'
complete -c webtier -n "__fish_webtier_using_subcommand dns; and not __fish_seen_subcommand_from plan apply help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c webtier -n "__fish_webtier_using_subcommand dns; and __fish_seen_subcommand_from plan" -l out -d 'Save the plan to FILE, for `webtier apply FILE`' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand dns; and __fish_seen_subcommand_from plan" -l config -d 'Path of the configuration file [default: webtier.toml]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand dns; and __fish_seen_subcommand_from plan" -l output -d 'Output format' -r -f -a "text\t''
json\t''"
complete -c webtier -n "__fish_webtier_using_subcommand dns; and __fish_seen_subcommand_from plan" -l detailed-exitcode -d 'Exit 2 when the plan has changes (0: none, 1: error)'
complete -c webtier -n "__fish_webtier_using_subcommand dns; and __fish_seen_subcommand_from plan" -l prune -d 'firewall: also remove rules webtier added that are no longer desired (never others)'
complete -c webtier -n "__fish_webtier_using_subcommand dns; and __fish_seen_subcommand_from plan" -l adopt -d 'dns: take over address records of the site names that webtier did not create'
complete -c webtier -n "__fish_webtier_using_subcommand dns; and __fish_seen_subcommand_from plan" -l json -d 'Short for --output json'
complete -c webtier -n "__fish_webtier_using_subcommand dns; and __fish_seen_subcommand_from plan" -s q -l quiet -d 'Print only results and errors: no progress or informational lines'
complete -c webtier -n "__fish_webtier_using_subcommand dns; and __fish_seen_subcommand_from plan" -s v -l verbose -d 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
complete -c webtier -n "__fish_webtier_using_subcommand dns; and __fish_seen_subcommand_from plan" -l no-color -d 'Never use colors (also when NO_COLOR is set)'
complete -c webtier -n "__fish_webtier_using_subcommand dns; and __fish_seen_subcommand_from plan" -s y -l yes -d 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
complete -c webtier -n "__fish_webtier_using_subcommand dns; and __fish_seen_subcommand_from plan" -s h -l help -d 'Print help'
complete -c webtier -n "__fish_webtier_using_subcommand dns; and __fish_seen_subcommand_from plan" -s V -l version -d 'Print version'
complete -c webtier -n "__fish_webtier_using_subcommand dns; and __fish_seen_subcommand_from apply" -l config -d 'Path of the configuration file [default: webtier.toml]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand dns; and __fish_seen_subcommand_from apply" -l output -d 'Output format' -r -f -a "text\t''
json\t''"
complete -c webtier -n "__fish_webtier_using_subcommand dns; and __fish_seen_subcommand_from apply" -l prune -d 'firewall: also remove rules webtier added that are no longer desired (never others)'
complete -c webtier -n "__fish_webtier_using_subcommand dns; and __fish_seen_subcommand_from apply" -l adopt -d 'dns: take over address records of the site names that webtier did not create'
complete -c webtier -n "__fish_webtier_using_subcommand dns; and __fish_seen_subcommand_from apply" -l json -d 'Short for --output json'
complete -c webtier -n "__fish_webtier_using_subcommand dns; and __fish_seen_subcommand_from apply" -s q -l quiet -d 'Print only results and errors: no progress or informational lines'
complete -c webtier -n "__fish_webtier_using_subcommand dns; and __fish_seen_subcommand_from apply" -s v -l verbose -d 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
complete -c webtier -n "__fish_webtier_using_subcommand dns; and __fish_seen_subcommand_from apply" -l no-color -d 'Never use colors (also when NO_COLOR is set)'
complete -c webtier -n "__fish_webtier_using_subcommand dns; and __fish_seen_subcommand_from apply" -s y -l yes -d 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
complete -c webtier -n "__fish_webtier_using_subcommand dns; and __fish_seen_subcommand_from apply" -s h -l help -d 'Print help'
complete -c webtier -n "__fish_webtier_using_subcommand dns; and __fish_seen_subcommand_from apply" -s V -l version -d 'Print version'
complete -c webtier -n "__fish_webtier_using_subcommand dns; and __fish_seen_subcommand_from help" -f -a "plan" -d 'Show what this step would change'
complete -c webtier -n "__fish_webtier_using_subcommand dns; and __fish_seen_subcommand_from help" -f -a "apply" -d 'Make this step\'s changes, after confirmation'
complete -c webtier -n "__fish_webtier_using_subcommand dns; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and not __fish_seen_subcommand_from plan apply issue renew status import-to-acm revoke schedule help" -l config -d 'Path of the configuration file [default: webtier.toml]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand cert; and not __fish_seen_subcommand_from plan apply issue renew status import-to-acm revoke schedule help" -l output -d 'Output format' -r -f -a "text\t''
json\t''"
complete -c webtier -n "__fish_webtier_using_subcommand cert; and not __fish_seen_subcommand_from plan apply issue renew status import-to-acm revoke schedule help" -l json -d 'Short for --output json'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and not __fish_seen_subcommand_from plan apply issue renew status import-to-acm revoke schedule help" -s q -l quiet -d 'Print only results and errors: no progress or informational lines'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and not __fish_seen_subcommand_from plan apply issue renew status import-to-acm revoke schedule help" -s v -l verbose -d 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and not __fish_seen_subcommand_from plan apply issue renew status import-to-acm revoke schedule help" -l no-color -d 'Never use colors (also when NO_COLOR is set)'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and not __fish_seen_subcommand_from plan apply issue renew status import-to-acm revoke schedule help" -s y -l yes -d 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and not __fish_seen_subcommand_from plan apply issue renew status import-to-acm revoke schedule help" -s h -l help -d 'Print help'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and not __fish_seen_subcommand_from plan apply issue renew status import-to-acm revoke schedule help" -s V -l version -d 'Print version'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and not __fish_seen_subcommand_from plan apply issue renew status import-to-acm revoke schedule help" -f -a "plan" -d 'Show which certificates would be issued or renewed'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and not __fish_seen_subcommand_from plan apply issue renew status import-to-acm revoke schedule help" -f -a "apply" -d 'Issue or renew what is due, after confirmation'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and not __fish_seen_subcommand_from plan apply issue renew status import-to-acm revoke schedule help" -f -a "issue" -d 'Issue ACME certificates now, due or not (all ACME sites, or one)'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and not __fish_seen_subcommand_from plan apply issue renew status import-to-acm revoke schedule help" -f -a "renew" -d 'Renew what is due, follow ACM\'s renewals and keep ACM imports current; silent when nothing is due (for cron)'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and not __fish_seen_subcommand_from plan apply issue renew status import-to-acm revoke schedule help" -f -a "status" -d 'Certificates, expiry and last result, ACM\'s too (text table or JSON)'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and not __fish_seen_subcommand_from plan apply issue renew status import-to-acm revoke schedule help" -f -a "import-to-acm" -d 'Import a site\'s ACME certificate into AWS Certificate Manager (for a load balancer or CloudFront), or re-import it to the same ARN'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and not __fish_seen_subcommand_from plan apply issue renew status import-to-acm revoke schedule help" -f -a "revoke" -d 'Revoke a site\'s live certificate at the CA'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and not __fish_seen_subcommand_from plan apply issue renew status import-to-acm revoke schedule help" -f -a "schedule" -d 'Install a systemd timer or cron entry that runs `cert renew` twice a day'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and not __fish_seen_subcommand_from plan apply issue renew status import-to-acm revoke schedule help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from plan" -l out -d 'Save the plan to FILE, for `webtier apply FILE`' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from plan" -l config -d 'Path of the configuration file [default: webtier.toml]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from plan" -l output -d 'Output format' -r -f -a "text\t''
json\t''"
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from plan" -l detailed-exitcode -d 'Exit 2 when the plan has changes (0: none, 1: error)'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from plan" -l prune -d 'firewall: also remove rules webtier added that are no longer desired (never others)'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from plan" -l adopt -d 'dns: take over address records of the site names that webtier did not create'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from plan" -l json -d 'Short for --output json'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from plan" -s q -l quiet -d 'Print only results and errors: no progress or informational lines'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from plan" -s v -l verbose -d 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from plan" -l no-color -d 'Never use colors (also when NO_COLOR is set)'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from plan" -s y -l yes -d 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from plan" -s h -l help -d 'Print help'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from plan" -s V -l version -d 'Print version'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from apply" -l config -d 'Path of the configuration file [default: webtier.toml]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from apply" -l output -d 'Output format' -r -f -a "text\t''
json\t''"
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from apply" -l prune -d 'firewall: also remove rules webtier added that are no longer desired (never others)'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from apply" -l adopt -d 'dns: take over address records of the site names that webtier did not create'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from apply" -l json -d 'Short for --output json'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from apply" -s q -l quiet -d 'Print only results and errors: no progress or informational lines'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from apply" -s v -l verbose -d 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from apply" -l no-color -d 'Never use colors (also when NO_COLOR is set)'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from apply" -s y -l yes -d 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from apply" -s h -l help -d 'Print help'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from apply" -s V -l version -d 'Print version'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from issue" -l deploy-hook -d 'Run this shell command after each new certificate (paths in WEBTIER_CERT_NAME, WEBTIER_CERT_DIR, WEBTIER_FULLCHAIN, WEBTIER_PRIVKEY, WEBTIER_NAMES)' -r
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from issue" -l config -d 'Path of the configuration file [default: webtier.toml]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from issue" -l output -d 'Output format' -r -f -a "text\t''
json\t''"
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from issue" -l json -d 'Short for --output json'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from issue" -s q -l quiet -d 'Print only results and errors: no progress or informational lines'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from issue" -s v -l verbose -d 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from issue" -l no-color -d 'Never use colors (also when NO_COLOR is set)'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from issue" -s y -l yes -d 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from issue" -s h -l help -d 'Print help'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from issue" -s V -l version -d 'Print version'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from renew" -l deploy-hook -d 'Run this shell command after each new certificate (paths in WEBTIER_CERT_NAME, WEBTIER_CERT_DIR, WEBTIER_FULLCHAIN, WEBTIER_PRIVKEY, WEBTIER_NAMES)' -r
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from renew" -l config -d 'Path of the configuration file [default: webtier.toml]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from renew" -l output -d 'Output format' -r -f -a "text\t''
json\t''"
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from renew" -l force -d 'Renew every ACME certificate, re-export every ACM one and re-import every import, due or not'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from renew" -l dry-run -d 'Run the whole ACME order against the staging or test CA; install nothing, and only say what would change in ACM'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from renew" -l json -d 'Short for --output json'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from renew" -s q -l quiet -d 'Print only results and errors: no progress or informational lines'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from renew" -s v -l verbose -d 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from renew" -l no-color -d 'Never use colors (also when NO_COLOR is set)'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from renew" -s y -l yes -d 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from renew" -s h -l help -d 'Print help'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from renew" -s V -l version -d 'Print version'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from status" -l config -d 'Path of the configuration file [default: webtier.toml]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from status" -l output -d 'Output format' -r -f -a "text\t''
json\t''"
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from status" -l json -d 'Short for --output json'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from status" -s q -l quiet -d 'Print only results and errors: no progress or informational lines'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from status" -s v -l verbose -d 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from status" -l no-color -d 'Never use colors (also when NO_COLOR is set)'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from status" -s y -l yes -d 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from status" -s V -l version -d 'Print version'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from import-to-acm" -l config -d 'Path of the configuration file [default: webtier.toml]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from import-to-acm" -l output -d 'Output format' -r -f -a "text\t''
json\t''"
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from import-to-acm" -l json -d 'Short for --output json'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from import-to-acm" -s q -l quiet -d 'Print only results and errors: no progress or informational lines'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from import-to-acm" -s v -l verbose -d 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from import-to-acm" -l no-color -d 'Never use colors (also when NO_COLOR is set)'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from import-to-acm" -s y -l yes -d 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from import-to-acm" -s h -l help -d 'Print help'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from import-to-acm" -s V -l version -d 'Print version'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from revoke" -l reason -d 'Reason given to the CA' -r -f -a "unspecified\t''
key-compromise\t''
superseded\t''
cessation-of-operation\t''"
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from revoke" -l config -d 'Path of the configuration file [default: webtier.toml]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from revoke" -l output -d 'Output format' -r -f -a "text\t''
json\t''"
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from revoke" -l json -d 'Short for --output json'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from revoke" -s q -l quiet -d 'Print only results and errors: no progress or informational lines'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from revoke" -s v -l verbose -d 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from revoke" -l no-color -d 'Never use colors (also when NO_COLOR is set)'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from revoke" -s y -l yes -d 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from revoke" -s h -l help -d 'Print help'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from revoke" -s V -l version -d 'Print version'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from schedule" -l with -d 'Which scheduler (default: systemd when it runs, else cron)' -r -f -a "systemd\t''
cron\t''"
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from schedule" -l root -d 'Install under this root instead of / (for packaging)' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from schedule" -l config -d 'Path of the configuration file [default: webtier.toml]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from schedule" -l output -d 'Output format' -r -f -a "text\t''
json\t''"
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from schedule" -l print -d 'Print the files instead of installing them'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from schedule" -l json -d 'Short for --output json'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from schedule" -s q -l quiet -d 'Print only results and errors: no progress or informational lines'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from schedule" -s v -l verbose -d 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from schedule" -l no-color -d 'Never use colors (also when NO_COLOR is set)'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from schedule" -s y -l yes -d 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from schedule" -s h -l help -d 'Print help'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from schedule" -s V -l version -d 'Print version'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from help" -f -a "plan" -d 'Show which certificates would be issued or renewed'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from help" -f -a "apply" -d 'Issue or renew what is due, after confirmation'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from help" -f -a "issue" -d 'Issue ACME certificates now, due or not (all ACME sites, or one)'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from help" -f -a "renew" -d 'Renew what is due, follow ACM\'s renewals and keep ACM imports current; silent when nothing is due (for cron)'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from help" -f -a "status" -d 'Certificates, expiry and last result, ACM\'s too (text table or JSON)'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from help" -f -a "import-to-acm" -d 'Import a site\'s ACME certificate into AWS Certificate Manager (for a load balancer or CloudFront), or re-import it to the same ARN'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from help" -f -a "revoke" -d 'Revoke a site\'s live certificate at the CA'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from help" -f -a "schedule" -d 'Install a systemd timer or cron entry that runs `cert renew` twice a day'
complete -c webtier -n "__fish_webtier_using_subcommand cert; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c webtier -n "__fish_webtier_using_subcommand config; and not __fish_seen_subcommand_from check show help" -l config -d 'Path of the configuration file [default: webtier.toml]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand config; and not __fish_seen_subcommand_from check show help" -l output -d 'Output format' -r -f -a "text\t''
json\t''"
complete -c webtier -n "__fish_webtier_using_subcommand config; and not __fish_seen_subcommand_from check show help" -l json -d 'Short for --output json'
complete -c webtier -n "__fish_webtier_using_subcommand config; and not __fish_seen_subcommand_from check show help" -s q -l quiet -d 'Print only results and errors: no progress or informational lines'
complete -c webtier -n "__fish_webtier_using_subcommand config; and not __fish_seen_subcommand_from check show help" -s v -l verbose -d 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
complete -c webtier -n "__fish_webtier_using_subcommand config; and not __fish_seen_subcommand_from check show help" -l no-color -d 'Never use colors (also when NO_COLOR is set)'
complete -c webtier -n "__fish_webtier_using_subcommand config; and not __fish_seen_subcommand_from check show help" -s y -l yes -d 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
complete -c webtier -n "__fish_webtier_using_subcommand config; and not __fish_seen_subcommand_from check show help" -s h -l help -d 'Print help'
complete -c webtier -n "__fish_webtier_using_subcommand config; and not __fish_seen_subcommand_from check show help" -s V -l version -d 'Print version'
complete -c webtier -n "__fish_webtier_using_subcommand config; and not __fish_seen_subcommand_from check show help" -f -a "check" -d 'Validate the configuration; list every problem (exit 3 when invalid)'
complete -c webtier -n "__fish_webtier_using_subcommand config; and not __fish_seen_subcommand_from check show help" -f -a "show" -d 'Print the resolved configuration with defaults filled in'
complete -c webtier -n "__fish_webtier_using_subcommand config; and not __fish_seen_subcommand_from check show help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c webtier -n "__fish_webtier_using_subcommand config; and __fish_seen_subcommand_from check" -l config -d 'Path of the configuration file [default: webtier.toml]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand config; and __fish_seen_subcommand_from check" -l output -d 'Output format' -r -f -a "text\t''
json\t''"
complete -c webtier -n "__fish_webtier_using_subcommand config; and __fish_seen_subcommand_from check" -l json -d 'Short for --output json'
complete -c webtier -n "__fish_webtier_using_subcommand config; and __fish_seen_subcommand_from check" -s q -l quiet -d 'Print only results and errors: no progress or informational lines'
complete -c webtier -n "__fish_webtier_using_subcommand config; and __fish_seen_subcommand_from check" -s v -l verbose -d 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
complete -c webtier -n "__fish_webtier_using_subcommand config; and __fish_seen_subcommand_from check" -l no-color -d 'Never use colors (also when NO_COLOR is set)'
complete -c webtier -n "__fish_webtier_using_subcommand config; and __fish_seen_subcommand_from check" -s y -l yes -d 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
complete -c webtier -n "__fish_webtier_using_subcommand config; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help'
complete -c webtier -n "__fish_webtier_using_subcommand config; and __fish_seen_subcommand_from check" -s V -l version -d 'Print version'
complete -c webtier -n "__fish_webtier_using_subcommand config; and __fish_seen_subcommand_from show" -l config -d 'Path of the configuration file [default: webtier.toml]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand config; and __fish_seen_subcommand_from show" -l output -d 'Output format' -r -f -a "text\t''
json\t''"
complete -c webtier -n "__fish_webtier_using_subcommand config; and __fish_seen_subcommand_from show" -l json -d 'Short for --output json'
complete -c webtier -n "__fish_webtier_using_subcommand config; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Print only results and errors: no progress or informational lines'
complete -c webtier -n "__fish_webtier_using_subcommand config; and __fish_seen_subcommand_from show" -s v -l verbose -d 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
complete -c webtier -n "__fish_webtier_using_subcommand config; and __fish_seen_subcommand_from show" -l no-color -d 'Never use colors (also when NO_COLOR is set)'
complete -c webtier -n "__fish_webtier_using_subcommand config; and __fish_seen_subcommand_from show" -s y -l yes -d 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
complete -c webtier -n "__fish_webtier_using_subcommand config; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c webtier -n "__fish_webtier_using_subcommand config; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c webtier -n "__fish_webtier_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "check" -d 'Validate the configuration; list every problem (exit 3 when invalid)'
complete -c webtier -n "__fish_webtier_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "show" -d 'Print the resolved configuration with defaults filled in'
complete -c webtier -n "__fish_webtier_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and not __fish_seen_subcommand_from run start stop status validate reload purge-cache rotate-session-key config export help" -l config -d 'Path of the configuration file [default: webtier.toml]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and not __fish_seen_subcommand_from run start stop status validate reload purge-cache rotate-session-key config export help" -l output -d 'Output format' -r -f -a "text\t''
json\t''"
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and not __fish_seen_subcommand_from run start stop status validate reload purge-cache rotate-session-key config export help" -l json -d 'Short for --output json'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and not __fish_seen_subcommand_from run start stop status validate reload purge-cache rotate-session-key config export help" -s q -l quiet -d 'Print only results and errors: no progress or informational lines'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and not __fish_seen_subcommand_from run start stop status validate reload purge-cache rotate-session-key config export help" -s v -l verbose -d 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and not __fish_seen_subcommand_from run start stop status validate reload purge-cache rotate-session-key config export help" -l no-color -d 'Never use colors (also when NO_COLOR is set)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and not __fish_seen_subcommand_from run start stop status validate reload purge-cache rotate-session-key config export help" -s y -l yes -d 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and not __fish_seen_subcommand_from run start stop status validate reload purge-cache rotate-session-key config export help" -s h -l help -d 'Print help'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and not __fish_seen_subcommand_from run start stop status validate reload purge-cache rotate-session-key config export help" -s V -l version -d 'Print version'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and not __fish_seen_subcommand_from run start stop status validate reload purge-cache rotate-session-key config export help" -f -a "run" -d 'Run the proxy in the foreground: SIGHUP reloads configuration and certificates, SIGTERM stops accepting and drains in-flight requests'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and not __fish_seen_subcommand_from run start stop status validate reload purge-cache rotate-session-key config export help" -f -a "start" -d 'Start the proxy in the background (a new session, output appended to proxy.log next to its pid file); returns once it serves'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and not __fish_seen_subcommand_from run start stop status validate reload purge-cache rotate-session-key config export help" -f -a "stop" -d 'Stop the running proxy: it stops accepting, drains in-flight requests and exits; returns once it has exited'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and not __fish_seen_subcommand_from run start stop status validate reload purge-cache rotate-session-key config export help" -f -a "status" -d 'Whether the proxy runs: pid, uptime, configuration, listeners, sites not served (exit 1 when it does not run or refuses a site)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and not __fish_seen_subcommand_from run start stop status validate reload purge-cache rotate-session-key config export help" -f -a "validate" -d 'Check a proxy configuration: the file, every site\'s certificate and static roots, the listen addresses; list every problem (exit 3 when invalid)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and not __fish_seen_subcommand_from run start stop status validate reload purge-cache rotate-session-key config export help" -f -a "reload" -d 'Ask the running proxy to reload (SIGHUP to the process in its pid file)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and not __fish_seen_subcommand_from run start stop status validate reload purge-cache rotate-session-key config export help" -f -a "purge-cache" -d 'Remove responses from the running proxy\'s cache (all of them, one key, or every key under a prefix), through its admin listener'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and not __fish_seen_subcommand_from run start stop status validate reload purge-cache rotate-session-key config export help" -f -a "rotate-session-key" -d 'Put a new key first in the session key file (sessions sealed with the two keys before it stay valid until they expire) and ask the running proxy to reload'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and not __fish_seen_subcommand_from run start stop status validate reload purge-cache rotate-session-key config export help" -f -a "config" -d 'Print the proxy configuration that webtier.toml renders (what `apply proxy-config` writes), without writing it'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and not __fish_seen_subcommand_from run start stop status validate reload purge-cache rotate-session-key config export help" -f -a "export" -d 'Print the proxy configuration as another server\'s (for those who keep nginx)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and not __fish_seen_subcommand_from run start stop status validate reload purge-cache rotate-session-key config export help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from run" -l file -d 'The proxy configuration file [default: webtier.toml\'s proxy config_file]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from run" -l workers -d 'Worker threads (overrides the file\'s `workers`; 0 = one per core)' -r
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from run" -l config -d 'Path of the configuration file [default: webtier.toml]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from run" -l output -d 'Output format' -r -f -a "text\t''
json\t''"
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from run" -l detached -d 'Start a new session first (used by `proxy start`)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from run" -l json -d 'Short for --output json'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from run" -s q -l quiet -d 'Print only results and errors: no progress or informational lines'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from run" -s v -l verbose -d 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from run" -l no-color -d 'Never use colors (also when NO_COLOR is set)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from run" -s y -l yes -d 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from run" -s h -l help -d 'Print help'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from run" -s V -l version -d 'Print version'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from start" -l file -d 'The proxy configuration file [default: webtier.toml\'s proxy config_file]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from start" -l config -d 'Path of the configuration file [default: webtier.toml]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from start" -l output -d 'Output format' -r -f -a "text\t''
json\t''"
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from start" -l json -d 'Short for --output json'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from start" -s q -l quiet -d 'Print only results and errors: no progress or informational lines'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from start" -s v -l verbose -d 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from start" -l no-color -d 'Never use colors (also when NO_COLOR is set)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from start" -s y -l yes -d 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from start" -s h -l help -d 'Print help'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from start" -s V -l version -d 'Print version'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from stop" -l file -d 'The proxy configuration file [default: webtier.toml\'s proxy config_file]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from stop" -l config -d 'Path of the configuration file [default: webtier.toml]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from stop" -l output -d 'Output format' -r -f -a "text\t''
json\t''"
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from stop" -l json -d 'Short for --output json'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from stop" -s q -l quiet -d 'Print only results and errors: no progress or informational lines'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from stop" -s v -l verbose -d 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from stop" -l no-color -d 'Never use colors (also when NO_COLOR is set)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from stop" -s y -l yes -d 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from stop" -s h -l help -d 'Print help'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from stop" -s V -l version -d 'Print version'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from status" -l file -d 'The proxy configuration file [default: webtier.toml\'s proxy config_file]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from status" -l config -d 'Path of the configuration file [default: webtier.toml]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from status" -l output -d 'Output format' -r -f -a "text\t''
json\t''"
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from status" -l json -d 'Short for --output json'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from status" -s q -l quiet -d 'Print only results and errors: no progress or informational lines'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from status" -s v -l verbose -d 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from status" -l no-color -d 'Never use colors (also when NO_COLOR is set)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from status" -s y -l yes -d 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from status" -s V -l version -d 'Print version'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from validate" -l file -d 'The proxy configuration file [default: webtier.toml\'s proxy config_file]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from validate" -l config -d 'Path of the configuration file [default: webtier.toml]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from validate" -l output -d 'Output format' -r -f -a "text\t''
json\t''"
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from validate" -l probe -d 'Also connect to every upstream (each must accept a TCP connection within 3 s)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from validate" -l json -d 'Short for --output json'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from validate" -s q -l quiet -d 'Print only results and errors: no progress or informational lines'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from validate" -s v -l verbose -d 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from validate" -l no-color -d 'Never use colors (also when NO_COLOR is set)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from validate" -s y -l yes -d 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from validate" -s h -l help -d 'Print help'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from validate" -s V -l version -d 'Print version'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from reload" -l file -d 'The proxy configuration file [default: webtier.toml\'s proxy config_file]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from reload" -l config -d 'Path of the configuration file [default: webtier.toml]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from reload" -l output -d 'Output format' -r -f -a "text\t''
json\t''"
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from reload" -l json -d 'Short for --output json'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from reload" -s q -l quiet -d 'Print only results and errors: no progress or informational lines'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from reload" -s v -l verbose -d 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from reload" -l no-color -d 'Never use colors (also when NO_COLOR is set)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from reload" -s y -l yes -d 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from reload" -s h -l help -d 'Print help'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from reload" -s V -l version -d 'Print version'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from purge-cache" -l file -d 'The proxy configuration file [default: webtier.toml\'s proxy config_file]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from purge-cache" -l key -d 'One key: the host and target as clients send them (`example.com/a?b=1`)' -r
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from purge-cache" -l prefix -d 'Every key that starts with this (`example.com/blog/`)' -r
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from purge-cache" -l config -d 'Path of the configuration file [default: webtier.toml]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from purge-cache" -l output -d 'Output format' -r -f -a "text\t''
json\t''"
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from purge-cache" -l json -d 'Short for --output json'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from purge-cache" -s q -l quiet -d 'Print only results and errors: no progress or informational lines'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from purge-cache" -s v -l verbose -d 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from purge-cache" -l no-color -d 'Never use colors (also when NO_COLOR is set)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from purge-cache" -s y -l yes -d 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from purge-cache" -s h -l help -d 'Print help'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from purge-cache" -s V -l version -d 'Print version'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from rotate-session-key" -l file -d 'The proxy configuration file [default: webtier.toml\'s proxy config_file]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from rotate-session-key" -l config -d 'Path of the configuration file [default: webtier.toml]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from rotate-session-key" -l output -d 'Output format' -r -f -a "text\t''
json\t''"
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from rotate-session-key" -l json -d 'Short for --output json'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from rotate-session-key" -s q -l quiet -d 'Print only results and errors: no progress or informational lines'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from rotate-session-key" -s v -l verbose -d 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from rotate-session-key" -l no-color -d 'Never use colors (also when NO_COLOR is set)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from rotate-session-key" -s y -l yes -d 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from rotate-session-key" -s h -l help -d 'Print help'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from rotate-session-key" -s V -l version -d 'Print version'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from config" -l file -d 'Print this proxy file instead, as the proxy reads it: checked, every default spelled out' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from config" -l config -d 'Path of the configuration file [default: webtier.toml]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from config" -l output -d 'Output format' -r -f -a "text\t''
json\t''"
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from config" -l json -d 'Short for --output json'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from config" -s q -l quiet -d 'Print only results and errors: no progress or informational lines'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from config" -s v -l verbose -d 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from config" -l no-color -d 'Never use colors (also when NO_COLOR is set)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from config" -s y -l yes -d 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from config" -s h -l help -d 'Print help'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from config" -s V -l version -d 'Print version'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from export" -l config -d 'Path of the configuration file [default: webtier.toml]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from export" -l output -d 'Output format' -r -f -a "text\t''
json\t''"
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from export" -l json -d 'Short for --output json'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from export" -s q -l quiet -d 'Print only results and errors: no progress or informational lines'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from export" -s v -l verbose -d 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from export" -l no-color -d 'Never use colors (also when NO_COLOR is set)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from export" -s y -l yes -d 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from export" -s h -l help -d 'Print help'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from export" -s V -l version -d 'Print version'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from export" -f -a "nginx" -d 'An nginx.conf that serves what the proxy serves (what nginx cannot do the same way is named in its comments)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from export" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from help" -f -a "run" -d 'Run the proxy in the foreground: SIGHUP reloads configuration and certificates, SIGTERM stops accepting and drains in-flight requests'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from help" -f -a "start" -d 'Start the proxy in the background (a new session, output appended to proxy.log next to its pid file); returns once it serves'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from help" -f -a "stop" -d 'Stop the running proxy: it stops accepting, drains in-flight requests and exits; returns once it has exited'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from help" -f -a "status" -d 'Whether the proxy runs: pid, uptime, configuration, listeners, sites not served (exit 1 when it does not run or refuses a site)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from help" -f -a "validate" -d 'Check a proxy configuration: the file, every site\'s certificate and static roots, the listen addresses; list every problem (exit 3 when invalid)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from help" -f -a "reload" -d 'Ask the running proxy to reload (SIGHUP to the process in its pid file)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from help" -f -a "purge-cache" -d 'Remove responses from the running proxy\'s cache (all of them, one key, or every key under a prefix), through its admin listener'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from help" -f -a "rotate-session-key" -d 'Put a new key first in the session key file (sessions sealed with the two keys before it stay valid until they expire) and ask the running proxy to reload'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from help" -f -a "config" -d 'Print the proxy configuration that webtier.toml renders (what `apply proxy-config` writes), without writing it'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from help" -f -a "export" -d 'Print the proxy configuration as another server\'s (for those who keep nginx)'
complete -c webtier -n "__fish_webtier_using_subcommand proxy; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c webtier -n "__fish_webtier_using_subcommand iam-policy" -l config -d 'Path of the configuration file [default: webtier.toml]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand iam-policy" -l output -d 'Output format' -r -f -a "text\t''
json\t''"
complete -c webtier -n "__fish_webtier_using_subcommand iam-policy" -l json -d 'Short for --output json'
complete -c webtier -n "__fish_webtier_using_subcommand iam-policy" -s q -l quiet -d 'Print only results and errors: no progress or informational lines'
complete -c webtier -n "__fish_webtier_using_subcommand iam-policy" -s v -l verbose -d 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
complete -c webtier -n "__fish_webtier_using_subcommand iam-policy" -l no-color -d 'Never use colors (also when NO_COLOR is set)'
complete -c webtier -n "__fish_webtier_using_subcommand iam-policy" -s y -l yes -d 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
complete -c webtier -n "__fish_webtier_using_subcommand iam-policy" -s h -l help -d 'Print help'
complete -c webtier -n "__fish_webtier_using_subcommand iam-policy" -s V -l version -d 'Print version'
complete -c webtier -n "__fish_webtier_using_subcommand completions" -l config -d 'Path of the configuration file [default: webtier.toml]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand completions" -l output -d 'Output format' -r -f -a "text\t''
json\t''"
complete -c webtier -n "__fish_webtier_using_subcommand completions" -l json -d 'Short for --output json'
complete -c webtier -n "__fish_webtier_using_subcommand completions" -s q -l quiet -d 'Print only results and errors: no progress or informational lines'
complete -c webtier -n "__fish_webtier_using_subcommand completions" -s v -l verbose -d 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
complete -c webtier -n "__fish_webtier_using_subcommand completions" -l no-color -d 'Never use colors (also when NO_COLOR is set)'
complete -c webtier -n "__fish_webtier_using_subcommand completions" -s y -l yes -d 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
complete -c webtier -n "__fish_webtier_using_subcommand completions" -s h -l help -d 'Print help'
complete -c webtier -n "__fish_webtier_using_subcommand completions" -s V -l version -d 'Print version'
complete -c webtier -n "__fish_webtier_using_subcommand man" -l dir -d 'Write every page (webtier.1, webtier-plan.1, …) into DIR, which must exist' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand man" -l config -d 'Path of the configuration file [default: webtier.toml]' -r -F
complete -c webtier -n "__fish_webtier_using_subcommand man" -l output -d 'Output format' -r -f -a "text\t''
json\t''"
complete -c webtier -n "__fish_webtier_using_subcommand man" -l json -d 'Short for --output json'
complete -c webtier -n "__fish_webtier_using_subcommand man" -s q -l quiet -d 'Print only results and errors: no progress or informational lines'
complete -c webtier -n "__fish_webtier_using_subcommand man" -s v -l verbose -d 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
complete -c webtier -n "__fish_webtier_using_subcommand man" -l no-color -d 'Never use colors (also when NO_COLOR is set)'
complete -c webtier -n "__fish_webtier_using_subcommand man" -s y -l yes -d 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
complete -c webtier -n "__fish_webtier_using_subcommand man" -s h -l help -d 'Print help'
complete -c webtier -n "__fish_webtier_using_subcommand man" -s V -l version -d 'Print version'
complete -c webtier -n "__fish_webtier_using_subcommand help; and not __fish_seen_subcommand_from init plan apply destroy status firewall dns cert config proxy iam-policy completions man help" -f -a "init" -d 'Write webtier.toml (asking on a terminal, or from flags) and take this machine all the way: firewall, DNS, proxy, certificate, renewal'
complete -c webtier -n "__fish_webtier_using_subcommand help; and not __fish_seen_subcommand_from init plan apply destroy status firewall dns cert config proxy iam-policy completions man help" -f -a "plan" -d 'Show what webtier would change, without changing anything'
complete -c webtier -n "__fish_webtier_using_subcommand help; and not __fish_seen_subcommand_from init plan apply destroy status firewall dns cert config proxy iam-policy completions man help" -f -a "apply" -d 'Make the changes, after confirmation (or a saved plan, exactly)'
complete -c webtier -n "__fish_webtier_using_subcommand help; and not __fish_seen_subcommand_from init plan apply destroy status firewall dns cert config proxy iam-policy completions man help" -f -a "destroy" -d 'Remove what webtier created, and nothing else: its security-group rules, its DNS records, the proxy service, the renewal schedule (certificates are kept unless --revoke); after confirmation'
complete -c webtier -n "__fish_webtier_using_subcommand help; and not __fish_seen_subcommand_from init plan apply destroy status firewall dns cert config proxy iam-policy completions man help" -f -a "status" -d 'Check every site: ports open, DNS records and resolution, certificate and renewal, proxy, served certificate, upstreams (exit 1 when a check fails)'
complete -c webtier -n "__fish_webtier_using_subcommand help; and not __fish_seen_subcommand_from init plan apply destroy status firewall dns cert config proxy iam-policy completions man help" -f -a "firewall" -d 'Security-group ingress for ports 80/443 on the target instances'
complete -c webtier -n "__fish_webtier_using_subcommand help; and not __fish_seen_subcommand_from init plan apply destroy status firewall dns cert config proxy iam-policy completions man help" -f -a "dns" -d 'Route 53 records for every site name'
complete -c webtier -n "__fish_webtier_using_subcommand help; and not __fish_seen_subcommand_from init plan apply destroy status firewall dns cert config proxy iam-policy completions man help" -f -a "cert" -d 'Certificates: issue, renew (from cron), status'
complete -c webtier -n "__fish_webtier_using_subcommand help; and not __fish_seen_subcommand_from init plan apply destroy status firewall dns cert config proxy iam-policy completions man help" -f -a "config" -d 'Check or show the configuration'
complete -c webtier -n "__fish_webtier_using_subcommand help; and not __fish_seen_subcommand_from init plan apply destroy status firewall dns cert config proxy iam-policy completions man help" -f -a "proxy" -d 'The bundled proxy: run it, validate its configuration, reload it'
complete -c webtier -n "__fish_webtier_using_subcommand help; and not __fish_seen_subcommand_from init plan apply destroy status firewall dns cert config proxy iam-policy completions man help" -f -a "iam-policy" -d 'Print the least-privilege IAM policy for the configured steps (JSON)'
complete -c webtier -n "__fish_webtier_using_subcommand help; and not __fish_seen_subcommand_from init plan apply destroy status firewall dns cert config proxy iam-policy completions man help" -f -a "completions" -d 'Print a shell completion script'
complete -c webtier -n "__fish_webtier_using_subcommand help; and not __fish_seen_subcommand_from init plan apply destroy status firewall dns cert config proxy iam-policy completions man help" -f -a "man" -d 'Print the man page webtier(1) (roff), or write it and the page of every subcommand it refers to into a directory'
complete -c webtier -n "__fish_webtier_using_subcommand help; and not __fish_seen_subcommand_from init plan apply destroy status firewall dns cert config proxy iam-policy completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c webtier -n "__fish_webtier_using_subcommand help; and __fish_seen_subcommand_from firewall" -f -a "plan" -d 'Show what this step would change'
complete -c webtier -n "__fish_webtier_using_subcommand help; and __fish_seen_subcommand_from firewall" -f -a "apply" -d 'Make this step\'s changes, after confirmation'
complete -c webtier -n "__fish_webtier_using_subcommand help; and __fish_seen_subcommand_from dns" -f -a "plan" -d 'Show what this step would change'
complete -c webtier -n "__fish_webtier_using_subcommand help; and __fish_seen_subcommand_from dns" -f -a "apply" -d 'Make this step\'s changes, after confirmation'
complete -c webtier -n "__fish_webtier_using_subcommand help; and __fish_seen_subcommand_from cert" -f -a "plan" -d 'Show which certificates would be issued or renewed'
complete -c webtier -n "__fish_webtier_using_subcommand help; and __fish_seen_subcommand_from cert" -f -a "apply" -d 'Issue or renew what is due, after confirmation'
complete -c webtier -n "__fish_webtier_using_subcommand help; and __fish_seen_subcommand_from cert" -f -a "issue" -d 'Issue ACME certificates now, due or not (all ACME sites, or one)'
complete -c webtier -n "__fish_webtier_using_subcommand help; and __fish_seen_subcommand_from cert" -f -a "renew" -d 'Renew what is due, follow ACM\'s renewals and keep ACM imports current; silent when nothing is due (for cron)'
complete -c webtier -n "__fish_webtier_using_subcommand help; and __fish_seen_subcommand_from cert" -f -a "status" -d 'Certificates, expiry and last result, ACM\'s too (text table or JSON)'
complete -c webtier -n "__fish_webtier_using_subcommand help; and __fish_seen_subcommand_from cert" -f -a "import-to-acm" -d 'Import a site\'s ACME certificate into AWS Certificate Manager (for a load balancer or CloudFront), or re-import it to the same ARN'
complete -c webtier -n "__fish_webtier_using_subcommand help; and __fish_seen_subcommand_from cert" -f -a "revoke" -d 'Revoke a site\'s live certificate at the CA'
complete -c webtier -n "__fish_webtier_using_subcommand help; and __fish_seen_subcommand_from cert" -f -a "schedule" -d 'Install a systemd timer or cron entry that runs `cert renew` twice a day'
complete -c webtier -n "__fish_webtier_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "check" -d 'Validate the configuration; list every problem (exit 3 when invalid)'
complete -c webtier -n "__fish_webtier_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "show" -d 'Print the resolved configuration with defaults filled in'
complete -c webtier -n "__fish_webtier_using_subcommand help; and __fish_seen_subcommand_from proxy" -f -a "run" -d 'Run the proxy in the foreground: SIGHUP reloads configuration and certificates, SIGTERM stops accepting and drains in-flight requests'
complete -c webtier -n "__fish_webtier_using_subcommand help; and __fish_seen_subcommand_from proxy" -f -a "start" -d 'Start the proxy in the background (a new session, output appended to proxy.log next to its pid file); returns once it serves'
complete -c webtier -n "__fish_webtier_using_subcommand help; and __fish_seen_subcommand_from proxy" -f -a "stop" -d 'Stop the running proxy: it stops accepting, drains in-flight requests and exits; returns once it has exited'
complete -c webtier -n "__fish_webtier_using_subcommand help; and __fish_seen_subcommand_from proxy" -f -a "status" -d 'Whether the proxy runs: pid, uptime, configuration, listeners, sites not served (exit 1 when it does not run or refuses a site)'
complete -c webtier -n "__fish_webtier_using_subcommand help; and __fish_seen_subcommand_from proxy" -f -a "validate" -d 'Check a proxy configuration: the file, every site\'s certificate and static roots, the listen addresses; list every problem (exit 3 when invalid)'
complete -c webtier -n "__fish_webtier_using_subcommand help; and __fish_seen_subcommand_from proxy" -f -a "reload" -d 'Ask the running proxy to reload (SIGHUP to the process in its pid file)'
complete -c webtier -n "__fish_webtier_using_subcommand help; and __fish_seen_subcommand_from proxy" -f -a "purge-cache" -d 'Remove responses from the running proxy\'s cache (all of them, one key, or every key under a prefix), through its admin listener'
complete -c webtier -n "__fish_webtier_using_subcommand help; and __fish_seen_subcommand_from proxy" -f -a "rotate-session-key" -d 'Put a new key first in the session key file (sessions sealed with the two keys before it stay valid until they expire) and ask the running proxy to reload'
complete -c webtier -n "__fish_webtier_using_subcommand help; and __fish_seen_subcommand_from proxy" -f -a "config" -d 'Print the proxy configuration that webtier.toml renders (what `apply proxy-config` writes), without writing it'
complete -c webtier -n "__fish_webtier_using_subcommand help; and __fish_seen_subcommand_from proxy" -f -a "export" -d 'Print the proxy configuration as another server\'s (for those who keep nginx)'
