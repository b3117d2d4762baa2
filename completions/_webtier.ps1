
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'webtier' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'webtier'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'webtier' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of the configuration file [default: webtier.toml]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --output json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never use colors (also when NO_COLOR is set)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Write webtier.toml (asking on a terminal, or from flags) and take this machine all the way: firewall, DNS, proxy, certificate, renewal')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Show what webtier would change, without changing anything')
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Make the changes, after confirmation (or a saved plan, exactly)')
            [CompletionResult]::new('destroy', 'destroy', [CompletionResultType]::ParameterValue, 'Remove what webtier created, and nothing else: its security-group rules, its DNS records, the proxy service, the renewal schedule (certificates are kept unless --revoke); after confirmation')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Check every site: ports open, DNS records and resolution, certificate and renewal, proxy, served certificate, upstreams (exit 1 when a check fails)')
            [CompletionResult]::new('firewall', 'firewall', [CompletionResultType]::ParameterValue, 'Security-group ingress for ports 80/443 on the target instances')
            [CompletionResult]::new('dns', 'dns', [CompletionResultType]::ParameterValue, 'Route 53 records for every site name')
            [CompletionResult]::new('cert', 'cert', [CompletionResultType]::ParameterValue, 'Certificates: issue, renew (from cron), status')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Check or show the configuration')
            [CompletionResult]::new('proxy', 'proxy', [CompletionResultType]::ParameterValue, 'The bundled proxy: run it, validate its configuration, reload it')
            [CompletionResult]::new('iam-policy', 'iam-policy', [CompletionResultType]::ParameterValue, 'Print the least-privilege IAM policy for the configured steps (JSON)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page webtier(1) (roff), or write it and the page of every subcommand it refers to into a directory')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'webtier;init' {
            [CompletionResult]::new('--domain', '--domain', [CompletionResultType]::ParameterName, 'The site''s domain (asked on a terminal when missing)')
            [CompletionResult]::new('--alias', '--alias', [CompletionResultType]::ParameterName, 'Another name of the site (repeat for several)')
            [CompletionResult]::new('--email', '--email', [CompletionResultType]::ParameterName, 'Contact email for the certificate authority')
            [CompletionResult]::new('--upstream', '--upstream', [CompletionResultType]::ParameterName, 'The app''s address, HOST:PORT [default: 127.0.0.1:8000 when something listens there]')
            [CompletionResult]::new('--instance', '--instance', [CompletionResultType]::ParameterName, 'The EC2 instance to open and point the names at: `self` or an id [default: self]')
            [CompletionResult]::new('--tls', '--tls', [CompletionResultType]::ParameterName, 'Certificates: from an ACME CA (Let''s Encrypt); from AWS Certificate Manager, exported to this instance (charged by AWS per issuance and renewal) or kept in ACM for a load balancer or CloudFront; or none (plain HTTP)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region [default: the standard chain: AWS_REGION, profile, the instance''s own]')
            [CompletionResult]::new('--acme-directory', '--acme-directory', [CompletionResultType]::ParameterName, 'ACME directory: letsencrypt, letsencrypt-staging or an https:// URL [default: letsencrypt]')
            [CompletionResult]::new('--ca-root', '--ca-root', [CompletionResultType]::ParameterName, 'An extra trust root (PEM) for the ACME server''s own HTTPS, for a test CA')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of the configuration file [default: webtier.toml]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Overwrite an existing configuration file that differs')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --output json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never use colors (also when NO_COLOR is set)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'webtier;plan' {
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Save the plan to FILE, for `webtier apply FILE`')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of the configuration file [default: webtier.toml]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--destroy', '--destroy', [CompletionResultType]::ParameterName, 'Plan `webtier destroy`: what removing webtier''s resources would do')
            [CompletionResult]::new('--revoke', '--revoke', [CompletionResultType]::ParameterName, 'With --destroy: also revoke the certificates')
            [CompletionResult]::new('--detailed-exitcode', '--detailed-exitcode', [CompletionResultType]::ParameterName, 'Exit 2 when the plan has changes (0: none, 1: error)')
            [CompletionResult]::new('--prune', '--prune', [CompletionResultType]::ParameterName, 'firewall: also remove rules webtier added that are no longer desired (never others)')
            [CompletionResult]::new('--adopt', '--adopt', [CompletionResultType]::ParameterName, 'dns: take over address records of the site names that webtier did not create')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --output json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never use colors (also when NO_COLOR is set)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'webtier;apply' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of the configuration file [default: webtier.toml]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--prune', '--prune', [CompletionResultType]::ParameterName, 'firewall: also remove rules webtier added that are no longer desired (never others)')
            [CompletionResult]::new('--adopt', '--adopt', [CompletionResultType]::ParameterName, 'dns: take over address records of the site names that webtier did not create')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --output json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never use colors (also when NO_COLOR is set)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'webtier;destroy' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of the configuration file [default: webtier.toml]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--revoke', '--revoke', [CompletionResultType]::ParameterName, 'Also revoke the certificates at the CA (they stay in the archive)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --output json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never use colors (also when NO_COLOR is set)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'webtier;status' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of the configuration file [default: webtier.toml]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --output json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never use colors (also when NO_COLOR is set)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'webtier;firewall' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of the configuration file [default: webtier.toml]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --output json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never use colors (also when NO_COLOR is set)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Show what this step would change')
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Make this step''s changes, after confirmation')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'webtier;firewall;plan' {
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Save the plan to FILE, for `webtier apply FILE`')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of the configuration file [default: webtier.toml]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--detailed-exitcode', '--detailed-exitcode', [CompletionResultType]::ParameterName, 'Exit 2 when the plan has changes (0: none, 1: error)')
            [CompletionResult]::new('--prune', '--prune', [CompletionResultType]::ParameterName, 'firewall: also remove rules webtier added that are no longer desired (never others)')
            [CompletionResult]::new('--adopt', '--adopt', [CompletionResultType]::ParameterName, 'dns: take over address records of the site names that webtier did not create')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --output json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never use colors (also when NO_COLOR is set)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'webtier;firewall;apply' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of the configuration file [default: webtier.toml]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--prune', '--prune', [CompletionResultType]::ParameterName, 'firewall: also remove rules webtier added that are no longer desired (never others)')
            [CompletionResult]::new('--adopt', '--adopt', [CompletionResultType]::ParameterName, 'dns: take over address records of the site names that webtier did not create')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --output json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never use colors (also when NO_COLOR is set)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'webtier;firewall;help' {
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Show what this step would change')
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Make this step''s changes, after confirmation')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'webtier;firewall;help;plan' {
            break
        }
        'webtier;firewall;help;apply' {
            break
        }
        'webtier;firewall;help;help' {
            break
        }
        'webtier;dns' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of the configuration file [default: webtier.toml]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --output json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never use colors (also when NO_COLOR is set)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Show what this step would change')
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Make this step''s changes, after confirmation')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'webtier;dns;plan' {
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Save the plan to FILE, for `webtier apply FILE`')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of the configuration file [default: webtier.toml]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--detailed-exitcode', '--detailed-exitcode', [CompletionResultType]::ParameterName, 'Exit 2 when the plan has changes (0: none, 1: error)')
            [CompletionResult]::new('--prune', '--prune', [CompletionResultType]::ParameterName, 'firewall: also remove rules webtier added that are no longer desired (never others)')
            [CompletionResult]::new('--adopt', '--adopt', [CompletionResultType]::ParameterName, 'dns: take over address records of the site names that webtier did not create')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --output json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never use colors (also when NO_COLOR is set)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'webtier;dns;apply' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of the configuration file [default: webtier.toml]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--prune', '--prune', [CompletionResultType]::ParameterName, 'firewall: also remove rules webtier added that are no longer desired (never others)')
            [CompletionResult]::new('--adopt', '--adopt', [CompletionResultType]::ParameterName, 'dns: take over address records of the site names that webtier did not create')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --output json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never use colors (also when NO_COLOR is set)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'webtier;dns;help' {
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Show what this step would change')
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Make this step''s changes, after confirmation')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'webtier;dns;help;plan' {
            break
        }
        'webtier;dns;help;apply' {
            break
        }
        'webtier;dns;help;help' {
            break
        }
        'webtier;cert' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of the configuration file [default: webtier.toml]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --output json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never use colors (also when NO_COLOR is set)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Show which certificates would be issued or renewed')
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Issue or renew what is due, after confirmation')
            [CompletionResult]::new('issue', 'issue', [CompletionResultType]::ParameterValue, 'Issue ACME certificates now, due or not (all ACME sites, or one)')
            [CompletionResult]::new('renew', 'renew', [CompletionResultType]::ParameterValue, 'Renew what is due, follow ACM''s renewals and keep ACM imports current; silent when nothing is due (for cron)')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Certificates, expiry and last result, ACM''s too (text table or JSON)')
            [CompletionResult]::new('import-to-acm', 'import-to-acm', [CompletionResultType]::ParameterValue, 'Import a site''s ACME certificate into AWS Certificate Manager (for a load balancer or CloudFront), or re-import it to the same ARN')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke a site''s live certificate at the CA')
            [CompletionResult]::new('schedule', 'schedule', [CompletionResultType]::ParameterValue, 'Install a systemd timer or cron entry that runs `cert renew` twice a day')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'webtier;cert;plan' {
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Save the plan to FILE, for `webtier apply FILE`')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of the configuration file [default: webtier.toml]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--detailed-exitcode', '--detailed-exitcode', [CompletionResultType]::ParameterName, 'Exit 2 when the plan has changes (0: none, 1: error)')
            [CompletionResult]::new('--prune', '--prune', [CompletionResultType]::ParameterName, 'firewall: also remove rules webtier added that are no longer desired (never others)')
            [CompletionResult]::new('--adopt', '--adopt', [CompletionResultType]::ParameterName, 'dns: take over address records of the site names that webtier did not create')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --output json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never use colors (also when NO_COLOR is set)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'webtier;cert;apply' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of the configuration file [default: webtier.toml]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--prune', '--prune', [CompletionResultType]::ParameterName, 'firewall: also remove rules webtier added that are no longer desired (never others)')
            [CompletionResult]::new('--adopt', '--adopt', [CompletionResultType]::ParameterName, 'dns: take over address records of the site names that webtier did not create')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --output json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never use colors (also when NO_COLOR is set)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'webtier;cert;issue' {
            [CompletionResult]::new('--deploy-hook', '--deploy-hook', [CompletionResultType]::ParameterName, 'Run this shell command after each new certificate (paths in WEBTIER_CERT_NAME, WEBTIER_CERT_DIR, WEBTIER_FULLCHAIN, WEBTIER_PRIVKEY, WEBTIER_NAMES)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of the configuration file [default: webtier.toml]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --output json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never use colors (also when NO_COLOR is set)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'webtier;cert;renew' {
            [CompletionResult]::new('--deploy-hook', '--deploy-hook', [CompletionResultType]::ParameterName, 'Run this shell command after each new certificate (paths in WEBTIER_CERT_NAME, WEBTIER_CERT_DIR, WEBTIER_FULLCHAIN, WEBTIER_PRIVKEY, WEBTIER_NAMES)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of the configuration file [default: webtier.toml]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Renew every ACME certificate, re-export every ACM one and re-import every import, due or not')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Run the whole ACME order against the staging or test CA; install nothing, and only say what would change in ACM')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --output json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never use colors (also when NO_COLOR is set)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'webtier;cert;status' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of the configuration file [default: webtier.toml]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --output json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never use colors (also when NO_COLOR is set)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'webtier;cert;import-to-acm' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of the configuration file [default: webtier.toml]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --output json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never use colors (also when NO_COLOR is set)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'webtier;cert;revoke' {
            [CompletionResult]::new('--reason', '--reason', [CompletionResultType]::ParameterName, 'Reason given to the CA')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of the configuration file [default: webtier.toml]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --output json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never use colors (also when NO_COLOR is set)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'webtier;cert;schedule' {
            [CompletionResult]::new('--with', '--with', [CompletionResultType]::ParameterName, 'Which scheduler (default: systemd when it runs, else cron)')
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Install under this root instead of / (for packaging)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of the configuration file [default: webtier.toml]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--print', '--print', [CompletionResultType]::ParameterName, 'Print the files instead of installing them')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --output json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never use colors (also when NO_COLOR is set)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'webtier;cert;help' {
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Show which certificates would be issued or renewed')
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Issue or renew what is due, after confirmation')
            [CompletionResult]::new('issue', 'issue', [CompletionResultType]::ParameterValue, 'Issue ACME certificates now, due or not (all ACME sites, or one)')
            [CompletionResult]::new('renew', 'renew', [CompletionResultType]::ParameterValue, 'Renew what is due, follow ACM''s renewals and keep ACM imports current; silent when nothing is due (for cron)')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Certificates, expiry and last result, ACM''s too (text table or JSON)')
            [CompletionResult]::new('import-to-acm', 'import-to-acm', [CompletionResultType]::ParameterValue, 'Import a site''s ACME certificate into AWS Certificate Manager (for a load balancer or CloudFront), or re-import it to the same ARN')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke a site''s live certificate at the CA')
            [CompletionResult]::new('schedule', 'schedule', [CompletionResultType]::ParameterValue, 'Install a systemd timer or cron entry that runs `cert renew` twice a day')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'webtier;cert;help;plan' {
            break
        }
        'webtier;cert;help;apply' {
            break
        }
        'webtier;cert;help;issue' {
            break
        }
        'webtier;cert;help;renew' {
            break
        }
        'webtier;cert;help;status' {
            break
        }
        'webtier;cert;help;import-to-acm' {
            break
        }
        'webtier;cert;help;revoke' {
            break
        }
        'webtier;cert;help;schedule' {
            break
        }
        'webtier;cert;help;help' {
            break
        }
        'webtier;config' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of the configuration file [default: webtier.toml]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --output json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never use colors (also when NO_COLOR is set)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Validate the configuration; list every problem (exit 3 when invalid)')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print the resolved configuration with defaults filled in')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'webtier;config;check' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of the configuration file [default: webtier.toml]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --output json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never use colors (also when NO_COLOR is set)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'webtier;config;show' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of the configuration file [default: webtier.toml]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --output json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never use colors (also when NO_COLOR is set)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'webtier;config;help' {
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Validate the configuration; list every problem (exit 3 when invalid)')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print the resolved configuration with defaults filled in')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'webtier;config;help;check' {
            break
        }
        'webtier;config;help;show' {
            break
        }
        'webtier;config;help;help' {
            break
        }
        'webtier;proxy' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of the configuration file [default: webtier.toml]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --output json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never use colors (also when NO_COLOR is set)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Run the proxy in the foreground: SIGHUP reloads configuration and certificates, SIGTERM stops accepting and drains in-flight requests')
            [CompletionResult]::new('start', 'start', [CompletionResultType]::ParameterValue, 'Start the proxy in the background (a new session, output appended to proxy.log next to its pid file); returns once it serves')
            [CompletionResult]::new('stop', 'stop', [CompletionResultType]::ParameterValue, 'Stop the running proxy: it stops accepting, drains in-flight requests and exits; returns once it has exited')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Whether the proxy runs: pid, uptime, configuration, listeners, sites not served (exit 1 when it does not run or refuses a site)')
            [CompletionResult]::new('validate', 'validate', [CompletionResultType]::ParameterValue, 'Check a proxy configuration: the file, every site''s certificate and static roots, the listen addresses; list every problem (exit 3 when invalid)')
            [CompletionResult]::new('reload', 'reload', [CompletionResultType]::ParameterValue, 'Ask the running proxy to reload (SIGHUP to the process in its pid file)')
            [CompletionResult]::new('purge-cache', 'purge-cache', [CompletionResultType]::ParameterValue, 'Remove responses from the running proxy''s cache (all of them, one key, or every key under a prefix), through its admin listener')
            [CompletionResult]::new('rotate-session-key', 'rotate-session-key', [CompletionResultType]::ParameterValue, 'Put a new key first in the session key file (sessions sealed with the two keys before it stay valid until they expire) and ask the running proxy to reload')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Print the proxy configuration that webtier.toml renders (what `apply proxy-config` writes), without writing it')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Print the proxy configuration as another server''s (for those who keep nginx)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'webtier;proxy;run' {
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The proxy configuration file [default: webtier.toml''s proxy config_file]')
            [CompletionResult]::new('--workers', '--workers', [CompletionResultType]::ParameterName, 'Worker threads (overrides the file''s `workers`; 0 = one per core)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of the configuration file [default: webtier.toml]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--detached', '--detached', [CompletionResultType]::ParameterName, 'Start a new session first (used by `proxy start`)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --output json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never use colors (also when NO_COLOR is set)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'webtier;proxy;start' {
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The proxy configuration file [default: webtier.toml''s proxy config_file]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of the configuration file [default: webtier.toml]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --output json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never use colors (also when NO_COLOR is set)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'webtier;proxy;stop' {
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The proxy configuration file [default: webtier.toml''s proxy config_file]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of the configuration file [default: webtier.toml]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --output json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never use colors (also when NO_COLOR is set)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'webtier;proxy;status' {
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The proxy configuration file [default: webtier.toml''s proxy config_file]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of the configuration file [default: webtier.toml]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --output json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never use colors (also when NO_COLOR is set)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'webtier;proxy;validate' {
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The proxy configuration file [default: webtier.toml''s proxy config_file]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of the configuration file [default: webtier.toml]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--probe', '--probe', [CompletionResultType]::ParameterName, 'Also connect to every upstream (each must accept a TCP connection within 3 s)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --output json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never use colors (also when NO_COLOR is set)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'webtier;proxy;reload' {
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The proxy configuration file [default: webtier.toml''s proxy config_file]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of the configuration file [default: webtier.toml]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --output json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never use colors (also when NO_COLOR is set)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'webtier;proxy;purge-cache' {
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The proxy configuration file [default: webtier.toml''s proxy config_file]')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'One key: the host and target as clients send them (`example.com/a?b=1`)')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Every key that starts with this (`example.com/blog/`)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of the configuration file [default: webtier.toml]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --output json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never use colors (also when NO_COLOR is set)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'webtier;proxy;rotate-session-key' {
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The proxy configuration file [default: webtier.toml''s proxy config_file]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of the configuration file [default: webtier.toml]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --output json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never use colors (also when NO_COLOR is set)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'webtier;proxy;config' {
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'Print this proxy file instead, as the proxy reads it: checked, every default spelled out')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of the configuration file [default: webtier.toml]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --output json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never use colors (also when NO_COLOR is set)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'webtier;proxy;export' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of the configuration file [default: webtier.toml]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --output json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never use colors (also when NO_COLOR is set)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('nginx', 'nginx', [CompletionResultType]::ParameterValue, 'An nginx.conf that serves what the proxy serves (what nginx cannot do the same way is named in its comments)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'webtier;proxy;export;nginx' {
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The proxy configuration file [default: webtier.toml''s proxy config_file]')
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Write it to FILE (atomically) instead of standard output')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of the configuration file [default: webtier.toml]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --output json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never use colors (also when NO_COLOR is set)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'webtier;proxy;export;help' {
            [CompletionResult]::new('nginx', 'nginx', [CompletionResultType]::ParameterValue, 'An nginx.conf that serves what the proxy serves (what nginx cannot do the same way is named in its comments)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'webtier;proxy;export;help;nginx' {
            break
        }
        'webtier;proxy;export;help;help' {
            break
        }
        'webtier;proxy;help' {
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Run the proxy in the foreground: SIGHUP reloads configuration and certificates, SIGTERM stops accepting and drains in-flight requests')
            [CompletionResult]::new('start', 'start', [CompletionResultType]::ParameterValue, 'Start the proxy in the background (a new session, output appended to proxy.log next to its pid file); returns once it serves')
            [CompletionResult]::new('stop', 'stop', [CompletionResultType]::ParameterValue, 'Stop the running proxy: it stops accepting, drains in-flight requests and exits; returns once it has exited')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Whether the proxy runs: pid, uptime, configuration, listeners, sites not served (exit 1 when it does not run or refuses a site)')
            [CompletionResult]::new('validate', 'validate', [CompletionResultType]::ParameterValue, 'Check a proxy configuration: the file, every site''s certificate and static roots, the listen addresses; list every problem (exit 3 when invalid)')
            [CompletionResult]::new('reload', 'reload', [CompletionResultType]::ParameterValue, 'Ask the running proxy to reload (SIGHUP to the process in its pid file)')
            [CompletionResult]::new('purge-cache', 'purge-cache', [CompletionResultType]::ParameterValue, 'Remove responses from the running proxy''s cache (all of them, one key, or every key under a prefix), through its admin listener')
            [CompletionResult]::new('rotate-session-key', 'rotate-session-key', [CompletionResultType]::ParameterValue, 'Put a new key first in the session key file (sessions sealed with the two keys before it stay valid until they expire) and ask the running proxy to reload')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Print the proxy configuration that webtier.toml renders (what `apply proxy-config` writes), without writing it')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Print the proxy configuration as another server''s (for those who keep nginx)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'webtier;proxy;help;run' {
            break
        }
        'webtier;proxy;help;start' {
            break
        }
        'webtier;proxy;help;stop' {
            break
        }
        'webtier;proxy;help;status' {
            break
        }
        'webtier;proxy;help;validate' {
            break
        }
        'webtier;proxy;help;reload' {
            break
        }
        'webtier;proxy;help;purge-cache' {
            break
        }
        'webtier;proxy;help;rotate-session-key' {
            break
        }
        'webtier;proxy;help;config' {
            break
        }
        'webtier;proxy;help;export' {
            [CompletionResult]::new('nginx', 'nginx', [CompletionResultType]::ParameterValue, 'An nginx.conf that serves what the proxy serves (what nginx cannot do the same way is named in its comments)')
            break
        }
        'webtier;proxy;help;export;nginx' {
            break
        }
        'webtier;proxy;help;help' {
            break
        }
        'webtier;iam-policy' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of the configuration file [default: webtier.toml]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --output json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never use colors (also when NO_COLOR is set)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'webtier;completions' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of the configuration file [default: webtier.toml]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --output json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never use colors (also when NO_COLOR is set)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'webtier;man' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Write every page (webtier.1, webtier-plan.1, …) into DIR, which must exist')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Path of the configuration file [default: webtier.toml]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Short for --output json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors: no progress or informational lines')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log more detail to stderr (-v info, -vv debug, -vvv trace)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never use colors (also when NO_COLOR is set)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'webtier;help' {
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Write webtier.toml (asking on a terminal, or from flags) and take this machine all the way: firewall, DNS, proxy, certificate, renewal')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Show what webtier would change, without changing anything')
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Make the changes, after confirmation (or a saved plan, exactly)')
            [CompletionResult]::new('destroy', 'destroy', [CompletionResultType]::ParameterValue, 'Remove what webtier created, and nothing else: its security-group rules, its DNS records, the proxy service, the renewal schedule (certificates are kept unless --revoke); after confirmation')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Check every site: ports open, DNS records and resolution, certificate and renewal, proxy, served certificate, upstreams (exit 1 when a check fails)')
            [CompletionResult]::new('firewall', 'firewall', [CompletionResultType]::ParameterValue, 'Security-group ingress for ports 80/443 on the target instances')
            [CompletionResult]::new('dns', 'dns', [CompletionResultType]::ParameterValue, 'Route 53 records for every site name')
            [CompletionResult]::new('cert', 'cert', [CompletionResultType]::ParameterValue, 'Certificates: issue, renew (from cron), status')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Check or show the configuration')
            [CompletionResult]::new('proxy', 'proxy', [CompletionResultType]::ParameterValue, 'The bundled proxy: run it, validate its configuration, reload it')
            [CompletionResult]::new('iam-policy', 'iam-policy', [CompletionResultType]::ParameterValue, 'Print the least-privilege IAM policy for the configured steps (JSON)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page webtier(1) (roff), or write it and the page of every subcommand it refers to into a directory')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'webtier;help;init' {
            break
        }
        'webtier;help;plan' {
            break
        }
        'webtier;help;apply' {
            break
        }
        'webtier;help;destroy' {
            break
        }
        'webtier;help;status' {
            break
        }
        'webtier;help;firewall' {
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Show what this step would change')
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Make this step''s changes, after confirmation')
            break
        }
        'webtier;help;firewall;plan' {
            break
        }
        'webtier;help;firewall;apply' {
            break
        }
        'webtier;help;dns' {
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Show what this step would change')
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Make this step''s changes, after confirmation')
            break
        }
        'webtier;help;dns;plan' {
            break
        }
        'webtier;help;dns;apply' {
            break
        }
        'webtier;help;cert' {
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Show which certificates would be issued or renewed')
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Issue or renew what is due, after confirmation')
            [CompletionResult]::new('issue', 'issue', [CompletionResultType]::ParameterValue, 'Issue ACME certificates now, due or not (all ACME sites, or one)')
            [CompletionResult]::new('renew', 'renew', [CompletionResultType]::ParameterValue, 'Renew what is due, follow ACM''s renewals and keep ACM imports current; silent when nothing is due (for cron)')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Certificates, expiry and last result, ACM''s too (text table or JSON)')
            [CompletionResult]::new('import-to-acm', 'import-to-acm', [CompletionResultType]::ParameterValue, 'Import a site''s ACME certificate into AWS Certificate Manager (for a load balancer or CloudFront), or re-import it to the same ARN')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke a site''s live certificate at the CA')
            [CompletionResult]::new('schedule', 'schedule', [CompletionResultType]::ParameterValue, 'Install a systemd timer or cron entry that runs `cert renew` twice a day')
            break
        }
        'webtier;help;cert;plan' {
            break
        }
        'webtier;help;cert;apply' {
            break
        }
        'webtier;help;cert;issue' {
            break
        }
        'webtier;help;cert;renew' {
            break
        }
        'webtier;help;cert;status' {
            break
        }
        'webtier;help;cert;import-to-acm' {
            break
        }
        'webtier;help;cert;revoke' {
            break
        }
        'webtier;help;cert;schedule' {
            break
        }
        'webtier;help;config' {
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Validate the configuration; list every problem (exit 3 when invalid)')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print the resolved configuration with defaults filled in')
            break
        }
        'webtier;help;config;check' {
            break
        }
        'webtier;help;config;show' {
            break
        }
        'webtier;help;proxy' {
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Run the proxy in the foreground: SIGHUP reloads configuration and certificates, SIGTERM stops accepting and drains in-flight requests')
            [CompletionResult]::new('start', 'start', [CompletionResultType]::ParameterValue, 'Start the proxy in the background (a new session, output appended to proxy.log next to its pid file); returns once it serves')
            [CompletionResult]::new('stop', 'stop', [CompletionResultType]::ParameterValue, 'Stop the running proxy: it stops accepting, drains in-flight requests and exits; returns once it has exited')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Whether the proxy runs: pid, uptime, configuration, listeners, sites not served (exit 1 when it does not run or refuses a site)')
            [CompletionResult]::new('validate', 'validate', [CompletionResultType]::ParameterValue, 'Check a proxy configuration: the file, every site''s certificate and static roots, the listen addresses; list every problem (exit 3 when invalid)')
            [CompletionResult]::new('reload', 'reload', [CompletionResultType]::ParameterValue, 'Ask the running proxy to reload (SIGHUP to the process in its pid file)')
            [CompletionResult]::new('purge-cache', 'purge-cache', [CompletionResultType]::ParameterValue, 'Remove responses from the running proxy''s cache (all of them, one key, or every key under a prefix), through its admin listener')
            [CompletionResult]::new('rotate-session-key', 'rotate-session-key', [CompletionResultType]::ParameterValue, 'Put a new key first in the session key file (sessions sealed with the two keys before it stay valid until they expire) and ask the running proxy to reload')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Print the proxy configuration that webtier.toml renders (what `apply proxy-config` writes), without writing it')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Print the proxy configuration as another server''s (for those who keep nginx)')
            break
        }
        'webtier;help;proxy;run' {
            break
        }
        'webtier;help;proxy;start' {
            break
        }
        'webtier;help;proxy;stop' {
            break
        }
        'webtier;help;proxy;status' {
            break
        }
        'webtier;help;proxy;validate' {
            break
        }
        'webtier;help;proxy;reload' {
            break
        }
        'webtier;help;proxy;purge-cache' {
            break
        }
        'webtier;help;proxy;rotate-session-key' {
            break
        }
        'webtier;help;proxy;config' {
            break
        }
        'webtier;help;proxy;export' {
            [CompletionResult]::new('nginx', 'nginx', [CompletionResultType]::ParameterValue, 'An nginx.conf that serves what the proxy serves (what nginx cannot do the same way is named in its comments)')
            break
        }
        'webtier;help;proxy;export;nginx' {
            break
        }
        'webtier;help;iam-policy' {
            break
        }
        'webtier;help;completions' {
            break
        }
        'webtier;help;man' {
            break
        }
        'webtier;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
