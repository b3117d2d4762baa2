
use builtin;
use str;

set edit:completion:arg-completer[webtier] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'webtier'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'webtier'= {
            cand --config 'Path of the configuration file [default: webtier.toml]'
            cand --output 'Output format'
            cand --json 'Short for --output json'
            cand -q 'Print only results and errors: no progress or informational lines'
            cand --quiet 'Print only results and errors: no progress or informational lines'
            cand -v 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --no-color 'Never use colors (also when NO_COLOR is set)'
            cand -y 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand --yes 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand init 'Write webtier.toml (asking on a terminal, or from flags) and take this machine all the way: firewall, DNS, proxy, certificate, renewal'
            cand plan 'Show what webtier would change, without changing anything'
            cand apply 'Make the changes, after confirmation (or a saved plan, exactly)'
            cand destroy 'Remove what webtier created, and nothing else: its security-group rules, its DNS records, the proxy service, the renewal schedule (certificates are kept unless --revoke); after confirmation'
            cand status 'Check every site: ports open, DNS records and resolution, certificate and renewal, proxy, served certificate, upstreams (exit 1 when a check fails)'
            cand firewall 'Security-group ingress for ports 80/443 on the target instances'
            cand dns 'Route 53 records for every site name'
            cand cert 'Certificates: issue, renew (from cron), status'
            cand config 'Check or show the configuration'
            cand proxy 'The bundled proxy: run it, validate its configuration, reload it'
            cand iam-policy 'Print the least-privilege IAM policy for the configured steps (JSON)'
            cand completions 'Print a shell completion script'
            cand man 'Print the man page webtier(1) (roff), or write it and the page of every subcommand it refers to into a directory'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'webtier;init'= {
            cand --domain 'The site''s domain (asked on a terminal when missing)'
            cand --alias 'Another name of the site (repeat for several)'
            cand --email 'Contact email for the certificate authority'
            cand --upstream 'The app''s address, HOST:PORT [default: 127.0.0.1:8000 when something listens there]'
            cand --instance 'The EC2 instance to open and point the names at: `self` or an id [default: self]'
            cand --tls 'Certificates: from an ACME CA (Let''s Encrypt); from AWS Certificate Manager, exported to this instance (charged by AWS per issuance and renewal) or kept in ACM for a load balancer or CloudFront; or none (plain HTTP)'
            cand --region 'AWS region [default: the standard chain: AWS_REGION, profile, the instance''s own]'
            cand --acme-directory 'ACME directory: letsencrypt, letsencrypt-staging or an https:// URL [default: letsencrypt]'
            cand --ca-root 'An extra trust root (PEM) for the ACME server''s own HTTPS, for a test CA'
            cand --config 'Path of the configuration file [default: webtier.toml]'
            cand --output 'Output format'
            cand --force 'Overwrite an existing configuration file that differs'
            cand --json 'Short for --output json'
            cand -q 'Print only results and errors: no progress or informational lines'
            cand --quiet 'Print only results and errors: no progress or informational lines'
            cand -v 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --no-color 'Never use colors (also when NO_COLOR is set)'
            cand -y 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand --yes 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'webtier;plan'= {
            cand --out 'Save the plan to FILE, for `webtier apply FILE`'
            cand --config 'Path of the configuration file [default: webtier.toml]'
            cand --output 'Output format'
            cand --destroy 'Plan `webtier destroy`: what removing webtier''s resources would do'
            cand --revoke 'With --destroy: also revoke the certificates'
            cand --detailed-exitcode 'Exit 2 when the plan has changes (0: none, 1: error)'
            cand --prune 'firewall: also remove rules webtier added that are no longer desired (never others)'
            cand --adopt 'dns: take over address records of the site names that webtier did not create'
            cand --json 'Short for --output json'
            cand -q 'Print only results and errors: no progress or informational lines'
            cand --quiet 'Print only results and errors: no progress or informational lines'
            cand -v 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --no-color 'Never use colors (also when NO_COLOR is set)'
            cand -y 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand --yes 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'webtier;apply'= {
            cand --config 'Path of the configuration file [default: webtier.toml]'
            cand --output 'Output format'
            cand --prune 'firewall: also remove rules webtier added that are no longer desired (never others)'
            cand --adopt 'dns: take over address records of the site names that webtier did not create'
            cand --json 'Short for --output json'
            cand -q 'Print only results and errors: no progress or informational lines'
            cand --quiet 'Print only results and errors: no progress or informational lines'
            cand -v 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --no-color 'Never use colors (also when NO_COLOR is set)'
            cand -y 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand --yes 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'webtier;destroy'= {
            cand --config 'Path of the configuration file [default: webtier.toml]'
            cand --output 'Output format'
            cand --revoke 'Also revoke the certificates at the CA (they stay in the archive)'
            cand --json 'Short for --output json'
            cand -q 'Print only results and errors: no progress or informational lines'
            cand --quiet 'Print only results and errors: no progress or informational lines'
            cand -v 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --no-color 'Never use colors (also when NO_COLOR is set)'
            cand -y 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand --yes 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'webtier;status'= {
            cand --config 'Path of the configuration file [default: webtier.toml]'
            cand --output 'Output format'
            cand --json 'Short for --output json'
            cand -q 'Print only results and errors: no progress or informational lines'
            cand --quiet 'Print only results and errors: no progress or informational lines'
            cand -v 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --no-color 'Never use colors (also when NO_COLOR is set)'
            cand -y 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand --yes 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'webtier;firewall'= {
            cand --config 'Path of the configuration file [default: webtier.toml]'
            cand --output 'Output format'
            cand --json 'Short for --output json'
            cand -q 'Print only results and errors: no progress or informational lines'
            cand --quiet 'Print only results and errors: no progress or informational lines'
            cand -v 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --no-color 'Never use colors (also when NO_COLOR is set)'
            cand -y 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand --yes 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand plan 'Show what this step would change'
            cand apply 'Make this step''s changes, after confirmation'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'webtier;firewall;plan'= {
            cand --out 'Save the plan to FILE, for `webtier apply FILE`'
            cand --config 'Path of the configuration file [default: webtier.toml]'
            cand --output 'Output format'
            cand --detailed-exitcode 'Exit 2 when the plan has changes (0: none, 1: error)'
            cand --prune 'firewall: also remove rules webtier added that are no longer desired (never others)'
            cand --adopt 'dns: take over address records of the site names that webtier did not create'
            cand --json 'Short for --output json'
            cand -q 'Print only results and errors: no progress or informational lines'
            cand --quiet 'Print only results and errors: no progress or informational lines'
            cand -v 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --no-color 'Never use colors (also when NO_COLOR is set)'
            cand -y 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand --yes 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'webtier;firewall;apply'= {
            cand --config 'Path of the configuration file [default: webtier.toml]'
            cand --output 'Output format'
            cand --prune 'firewall: also remove rules webtier added that are no longer desired (never others)'
            cand --adopt 'dns: take over address records of the site names that webtier did not create'
            cand --json 'Short for --output json'
            cand -q 'Print only results and errors: no progress or informational lines'
            cand --quiet 'Print only results and errors: no progress or informational lines'
            cand -v 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --no-color 'Never use colors (also when NO_COLOR is set)'
            cand -y 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand --yes 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'webtier;firewall;help'= {
            cand plan 'Show what this step would change'
            cand apply 'Make this step''s changes, after confirmation'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'webtier;firewall;help;plan'= {
        }
        &'webtier;firewall;help;apply'= {
        }
        &'webtier;firewall;help;help'= {
        }
        &'webtier;dns'= {
            cand --config 'Path of the configuration file [default: webtier.toml]'
            cand --output 'Output format'
            cand --json 'Short for --output json'
            cand -q 'Print only results and errors: no progress or informational lines'
            cand --quiet 'Print only results and errors: no progress or informational lines'
            cand -v 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --no-color 'Never use colors (also when NO_COLOR is set)'
            cand -y 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand --yes 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand plan 'Show what this step would change'
            cand apply 'Make this step''s changes, after confirmation'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'webtier;dns;plan'= {
            cand --out 'Save the plan to FILE, for `webtier apply FILE`'
            cand --config 'Path of the configuration file [default: webtier.toml]'
            cand --output 'Output format'
            cand --detailed-exitcode 'Exit 2 when the plan has changes (0: none, 1: error)'
            cand --prune 'firewall: also remove rules webtier added that are no longer desired (never others)'
            cand --adopt 'dns: take over address records of the site names that webtier did not create'
            cand --json 'Short for --output json'
            cand -q 'Print only results and errors: no progress or informational lines'
            cand --quiet 'Print only results and errors: no progress or informational lines'
            cand -v 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --no-color 'Never use colors (also when NO_COLOR is set)'
            cand -y 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand --yes 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'webtier;dns;apply'= {
            cand --config 'Path of the configuration file [default: webtier.toml]'
            cand --output 'Output format'
            cand --prune 'firewall: also remove rules webtier added that are no longer desired (never others)'
            cand --adopt 'dns: take over address records of the site names that webtier did not create'
            cand --json 'Short for --output json'
            cand -q 'Print only results and errors: no progress or informational lines'
            cand --quiet 'Print only results and errors: no progress or informational lines'
            cand -v 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --no-color 'Never use colors (also when NO_COLOR is set)'
            cand -y 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand --yes 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'webtier;dns;help'= {
            cand plan 'Show what this step would change'
            cand apply 'Make this step''s changes, after confirmation'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'webtier;dns;help;plan'= {
        }
        &'webtier;dns;help;apply'= {
        }
        &'webtier;dns;help;help'= {
        }
        &'webtier;cert'= {
            cand --config 'Path of the configuration file [default: webtier.toml]'
            cand --output 'Output format'
            cand --json 'Short for --output json'
            cand -q 'Print only results and errors: no progress or informational lines'
            cand --quiet 'Print only results and errors: no progress or informational lines'
            cand -v 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --no-color 'Never use colors (also when NO_COLOR is set)'
            cand -y 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand --yes 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand plan 'Show which certificates would be issued or renewed'
            cand apply 'Issue or renew what is due, after confirmation'
            cand issue 'Issue ACME certificates now, due or not (all ACME sites, or one)'
            cand renew 'Renew what is due, follow ACM''s renewals and keep ACM imports current; silent when nothing is due (for cron)'
            cand status 'Certificates, expiry and last result, ACM''s too (text table or JSON)'
            cand import-to-acm 'Import a site''s ACME certificate into AWS Certificate Manager (for a load balancer or CloudFront), or re-import it to the same ARN'
            cand revoke 'Revoke a site''s live certificate at the CA'
            cand schedule 'Install a systemd timer or cron entry that runs `cert renew` twice a day'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'webtier;cert;plan'= {
            cand --out 'Save the plan to FILE, for `webtier apply FILE`'
            cand --config 'Path of the configuration file [default: webtier.toml]'
            cand --output 'Output format'
            cand --detailed-exitcode 'Exit 2 when the plan has changes (0: none, 1: error)'
            cand --prune 'firewall: also remove rules webtier added that are no longer desired (never others)'
            cand --adopt 'dns: take over address records of the site names that webtier did not create'
            cand --json 'Short for --output json'
            cand -q 'Print only results and errors: no progress or informational lines'
            cand --quiet 'Print only results and errors: no progress or informational lines'
            cand -v 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --no-color 'Never use colors (also when NO_COLOR is set)'
            cand -y 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand --yes 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'webtier;cert;apply'= {
            cand --config 'Path of the configuration file [default: webtier.toml]'
            cand --output 'Output format'
            cand --prune 'firewall: also remove rules webtier added that are no longer desired (never others)'
            cand --adopt 'dns: take over address records of the site names that webtier did not create'
            cand --json 'Short for --output json'
            cand -q 'Print only results and errors: no progress or informational lines'
            cand --quiet 'Print only results and errors: no progress or informational lines'
            cand -v 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --no-color 'Never use colors (also when NO_COLOR is set)'
            cand -y 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand --yes 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'webtier;cert;issue'= {
            cand --deploy-hook 'Run this shell command after each new certificate (paths in WEBTIER_CERT_NAME, WEBTIER_CERT_DIR, WEBTIER_FULLCHAIN, WEBTIER_PRIVKEY, WEBTIER_NAMES)'
            cand --config 'Path of the configuration file [default: webtier.toml]'
            cand --output 'Output format'
            cand --json 'Short for --output json'
            cand -q 'Print only results and errors: no progress or informational lines'
            cand --quiet 'Print only results and errors: no progress or informational lines'
            cand -v 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --no-color 'Never use colors (also when NO_COLOR is set)'
            cand -y 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand --yes 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'webtier;cert;renew'= {
            cand --deploy-hook 'Run this shell command after each new certificate (paths in WEBTIER_CERT_NAME, WEBTIER_CERT_DIR, WEBTIER_FULLCHAIN, WEBTIER_PRIVKEY, WEBTIER_NAMES)'
            cand --config 'Path of the configuration file [default: webtier.toml]'
            cand --output 'Output format'
            cand --force 'Renew every ACME certificate, re-export every ACM one and re-import every import, due or not'
            cand --dry-run 'Run the whole ACME order against the staging or test CA; install nothing, and only say what would change in ACM'
            cand --json 'Short for --output json'
            cand -q 'Print only results and errors: no progress or informational lines'
            cand --quiet 'Print only results and errors: no progress or informational lines'
            cand -v 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --no-color 'Never use colors (also when NO_COLOR is set)'
            cand -y 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand --yes 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'webtier;cert;status'= {
            cand --config 'Path of the configuration file [default: webtier.toml]'
            cand --output 'Output format'
            cand --json 'Short for --output json'
            cand -q 'Print only results and errors: no progress or informational lines'
            cand --quiet 'Print only results and errors: no progress or informational lines'
            cand -v 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --no-color 'Never use colors (also when NO_COLOR is set)'
            cand -y 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand --yes 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'webtier;cert;import-to-acm'= {
            cand --config 'Path of the configuration file [default: webtier.toml]'
            cand --output 'Output format'
            cand --json 'Short for --output json'
            cand -q 'Print only results and errors: no progress or informational lines'
            cand --quiet 'Print only results and errors: no progress or informational lines'
            cand -v 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --no-color 'Never use colors (also when NO_COLOR is set)'
            cand -y 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand --yes 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'webtier;cert;revoke'= {
            cand --reason 'Reason given to the CA'
            cand --config 'Path of the configuration file [default: webtier.toml]'
            cand --output 'Output format'
            cand --json 'Short for --output json'
            cand -q 'Print only results and errors: no progress or informational lines'
            cand --quiet 'Print only results and errors: no progress or informational lines'
            cand -v 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --no-color 'Never use colors (also when NO_COLOR is set)'
            cand -y 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand --yes 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'webtier;cert;schedule'= {
            cand --with 'Which scheduler (default: systemd when it runs, else cron)'
            cand --root 'Install under this root instead of / (for packaging)'
            cand --config 'Path of the configuration file [default: webtier.toml]'
            cand --output 'Output format'
            cand --print 'Print the files instead of installing them'
            cand --json 'Short for --output json'
            cand -q 'Print only results and errors: no progress or informational lines'
            cand --quiet 'Print only results and errors: no progress or informational lines'
            cand -v 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --no-color 'Never use colors (also when NO_COLOR is set)'
            cand -y 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand --yes 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'webtier;cert;help'= {
            cand plan 'Show which certificates would be issued or renewed'
            cand apply 'Issue or renew what is due, after confirmation'
            cand issue 'Issue ACME certificates now, due or not (all ACME sites, or one)'
            cand renew 'Renew what is due, follow ACM''s renewals and keep ACM imports current; silent when nothing is due (for cron)'
            cand status 'Certificates, expiry and last result, ACM''s too (text table or JSON)'
            cand import-to-acm 'Import a site''s ACME certificate into AWS Certificate Manager (for a load balancer or CloudFront), or re-import it to the same ARN'
            cand revoke 'Revoke a site''s live certificate at the CA'
            cand schedule 'Install a systemd timer or cron entry that runs `cert renew` twice a day'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'webtier;cert;help;plan'= {
        }
        &'webtier;cert;help;apply'= {
        }
        &'webtier;cert;help;issue'= {
        }
        &'webtier;cert;help;renew'= {
        }
        &'webtier;cert;help;status'= {
        }
        &'webtier;cert;help;import-to-acm'= {
        }
        &'webtier;cert;help;revoke'= {
        }
        &'webtier;cert;help;schedule'= {
        }
        &'webtier;cert;help;help'= {
        }
        &'webtier;config'= {
            cand --config 'Path of the configuration file [default: webtier.toml]'
            cand --output 'Output format'
            cand --json 'Short for --output json'
            cand -q 'Print only results and errors: no progress or informational lines'
            cand --quiet 'Print only results and errors: no progress or informational lines'
            cand -v 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --no-color 'Never use colors (also when NO_COLOR is set)'
            cand -y 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand --yes 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand check 'Validate the configuration; list every problem (exit 3 when invalid)'
            cand show 'Print the resolved configuration with defaults filled in'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'webtier;config;check'= {
            cand --config 'Path of the configuration file [default: webtier.toml]'
            cand --output 'Output format'
            cand --json 'Short for --output json'
            cand -q 'Print only results and errors: no progress or informational lines'
            cand --quiet 'Print only results and errors: no progress or informational lines'
            cand -v 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --no-color 'Never use colors (also when NO_COLOR is set)'
            cand -y 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand --yes 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'webtier;config;show'= {
            cand --config 'Path of the configuration file [default: webtier.toml]'
            cand --output 'Output format'
            cand --json 'Short for --output json'
            cand -q 'Print only results and errors: no progress or informational lines'
            cand --quiet 'Print only results and errors: no progress or informational lines'
            cand -v 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --no-color 'Never use colors (also when NO_COLOR is set)'
            cand -y 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand --yes 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'webtier;config;help'= {
            cand check 'Validate the configuration; list every problem (exit 3 when invalid)'
            cand show 'Print the resolved configuration with defaults filled in'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'webtier;config;help;check'= {
        }
        &'webtier;config;help;show'= {
        }
        &'webtier;config;help;help'= {
        }
        &'webtier;proxy'= {
            cand --config 'Path of the configuration file [default: webtier.toml]'
            cand --output 'Output format'
            cand --json 'Short for --output json'
            cand -q 'Print only results and errors: no progress or informational lines'
            cand --quiet 'Print only results and errors: no progress or informational lines'
            cand -v 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --no-color 'Never use colors (also when NO_COLOR is set)'
            cand -y 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand --yes 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand run 'Run the proxy in the foreground: SIGHUP reloads configuration and certificates, SIGTERM stops accepting and drains in-flight requests'
            cand start 'Start the proxy in the background (a new session, output appended to proxy.log next to its pid file); returns once it serves'
            cand stop 'Stop the running proxy: it stops accepting, drains in-flight requests and exits; returns once it has exited'
            cand status 'Whether the proxy runs: pid, uptime, configuration, listeners, sites not served (exit 1 when it does not run or refuses a site)'
            cand validate 'Check a proxy configuration: the file, every site''s certificate and static roots, the listen addresses; list every problem (exit 3 when invalid)'
            cand reload 'Ask the running proxy to reload (SIGHUP to the process in its pid file)'
            cand purge-cache 'Remove responses from the running proxy''s cache (all of them, one key, or every key under a prefix), through its admin listener'
            cand rotate-session-key 'Put a new key first in the session key file (sessions sealed with the two keys before it stay valid until they expire) and ask the running proxy to reload'
            cand config 'Print the proxy configuration that webtier.toml renders (what `apply proxy-config` writes), without writing it'
            cand export 'Print the proxy configuration as another server''s (for those who keep nginx)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'webtier;proxy;run'= {
            cand --file 'The proxy configuration file [default: webtier.toml''s proxy config_file]'
            cand --workers 'Worker threads (overrides the file''s `workers`; 0 = one per core)'
            cand --config 'Path of the configuration file [default: webtier.toml]'
            cand --output 'Output format'
            cand --detached 'Start a new session first (used by `proxy start`)'
            cand --json 'Short for --output json'
            cand -q 'Print only results and errors: no progress or informational lines'
            cand --quiet 'Print only results and errors: no progress or informational lines'
            cand -v 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --no-color 'Never use colors (also when NO_COLOR is set)'
            cand -y 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand --yes 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'webtier;proxy;start'= {
            cand --file 'The proxy configuration file [default: webtier.toml''s proxy config_file]'
            cand --config 'Path of the configuration file [default: webtier.toml]'
            cand --output 'Output format'
            cand --json 'Short for --output json'
            cand -q 'Print only results and errors: no progress or informational lines'
            cand --quiet 'Print only results and errors: no progress or informational lines'
            cand -v 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --no-color 'Never use colors (also when NO_COLOR is set)'
            cand -y 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand --yes 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'webtier;proxy;stop'= {
            cand --file 'The proxy configuration file [default: webtier.toml''s proxy config_file]'
            cand --config 'Path of the configuration file [default: webtier.toml]'
            cand --output 'Output format'
            cand --json 'Short for --output json'
            cand -q 'Print only results and errors: no progress or informational lines'
            cand --quiet 'Print only results and errors: no progress or informational lines'
            cand -v 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --no-color 'Never use colors (also when NO_COLOR is set)'
            cand -y 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand --yes 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'webtier;proxy;status'= {
            cand --file 'The proxy configuration file [default: webtier.toml''s proxy config_file]'
            cand --config 'Path of the configuration file [default: webtier.toml]'
            cand --output 'Output format'
            cand --json 'Short for --output json'
            cand -q 'Print only results and errors: no progress or informational lines'
            cand --quiet 'Print only results and errors: no progress or informational lines'
            cand -v 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --no-color 'Never use colors (also when NO_COLOR is set)'
            cand -y 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand --yes 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'webtier;proxy;validate'= {
            cand --file 'The proxy configuration file [default: webtier.toml''s proxy config_file]'
            cand --config 'Path of the configuration file [default: webtier.toml]'
            cand --output 'Output format'
            cand --probe 'Also connect to every upstream (each must accept a TCP connection within 3 s)'
            cand --json 'Short for --output json'
            cand -q 'Print only results and errors: no progress or informational lines'
            cand --quiet 'Print only results and errors: no progress or informational lines'
            cand -v 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --no-color 'Never use colors (also when NO_COLOR is set)'
            cand -y 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand --yes 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'webtier;proxy;reload'= {
            cand --file 'The proxy configuration file [default: webtier.toml''s proxy config_file]'
            cand --config 'Path of the configuration file [default: webtier.toml]'
            cand --output 'Output format'
            cand --json 'Short for --output json'
            cand -q 'Print only results and errors: no progress or informational lines'
            cand --quiet 'Print only results and errors: no progress or informational lines'
            cand -v 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --no-color 'Never use colors (also when NO_COLOR is set)'
            cand -y 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand --yes 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'webtier;proxy;purge-cache'= {
            cand --file 'The proxy configuration file [default: webtier.toml''s proxy config_file]'
            cand --key 'One key: the host and target as clients send them (`example.com/a?b=1`)'
            cand --prefix 'Every key that starts with this (`example.com/blog/`)'
            cand --config 'Path of the configuration file [default: webtier.toml]'
            cand --output 'Output format'
            cand --json 'Short for --output json'
            cand -q 'Print only results and errors: no progress or informational lines'
            cand --quiet 'Print only results and errors: no progress or informational lines'
            cand -v 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --no-color 'Never use colors (also when NO_COLOR is set)'
            cand -y 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand --yes 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'webtier;proxy;rotate-session-key'= {
            cand --file 'The proxy configuration file [default: webtier.toml''s proxy config_file]'
            cand --config 'Path of the configuration file [default: webtier.toml]'
            cand --output 'Output format'
            cand --json 'Short for --output json'
            cand -q 'Print only results and errors: no progress or informational lines'
            cand --quiet 'Print only results and errors: no progress or informational lines'
            cand -v 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --no-color 'Never use colors (also when NO_COLOR is set)'
            cand -y 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand --yes 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'webtier;proxy;config'= {
            cand --file 'Print this proxy file instead, as the proxy reads it: checked, every default spelled out'
            cand --config 'Path of the configuration file [default: webtier.toml]'
            cand --output 'Output format'
            cand --json 'Short for --output json'
            cand -q 'Print only results and errors: no progress or informational lines'
            cand --quiet 'Print only results and errors: no progress or informational lines'
            cand -v 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --no-color 'Never use colors (also when NO_COLOR is set)'
            cand -y 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand --yes 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'webtier;proxy;export'= {
            cand --config 'Path of the configuration file [default: webtier.toml]'
            cand --output 'Output format'
            cand --json 'Short for --output json'
            cand -q 'Print only results and errors: no progress or informational lines'
            cand --quiet 'Print only results and errors: no progress or informational lines'
            cand -v 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --no-color 'Never use colors (also when NO_COLOR is set)'
            cand -y 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand --yes 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand nginx 'An nginx.conf that serves what the proxy serves (what nginx cannot do the same way is named in its comments)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'webtier;proxy;export;nginx'= {
            cand --file 'The proxy configuration file [default: webtier.toml''s proxy config_file]'
            cand --out 'Write it to FILE (atomically) instead of standard output'
            cand --config 'Path of the configuration file [default: webtier.toml]'
            cand --output 'Output format'
            cand --json 'Short for --output json'
            cand -q 'Print only results and errors: no progress or informational lines'
            cand --quiet 'Print only results and errors: no progress or informational lines'
            cand -v 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --no-color 'Never use colors (also when NO_COLOR is set)'
            cand -y 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand --yes 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'webtier;proxy;export;help'= {
            cand nginx 'An nginx.conf that serves what the proxy serves (what nginx cannot do the same way is named in its comments)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'webtier;proxy;export;help;nginx'= {
        }
        &'webtier;proxy;export;help;help'= {
        }
        &'webtier;proxy;help'= {
            cand run 'Run the proxy in the foreground: SIGHUP reloads configuration and certificates, SIGTERM stops accepting and drains in-flight requests'
            cand start 'Start the proxy in the background (a new session, output appended to proxy.log next to its pid file); returns once it serves'
            cand stop 'Stop the running proxy: it stops accepting, drains in-flight requests and exits; returns once it has exited'
            cand status 'Whether the proxy runs: pid, uptime, configuration, listeners, sites not served (exit 1 when it does not run or refuses a site)'
            cand validate 'Check a proxy configuration: the file, every site''s certificate and static roots, the listen addresses; list every problem (exit 3 when invalid)'
            cand reload 'Ask the running proxy to reload (SIGHUP to the process in its pid file)'
            cand purge-cache 'Remove responses from the running proxy''s cache (all of them, one key, or every key under a prefix), through its admin listener'
            cand rotate-session-key 'Put a new key first in the session key file (sessions sealed with the two keys before it stay valid until they expire) and ask the running proxy to reload'
            cand config 'Print the proxy configuration that webtier.toml renders (what `apply proxy-config` writes), without writing it'
            cand export 'Print the proxy configuration as another server''s (for those who keep nginx)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'webtier;proxy;help;run'= {
        }
        &'webtier;proxy;help;start'= {
        }
        &'webtier;proxy;help;stop'= {
        }
        &'webtier;proxy;help;status'= {
        }
        &'webtier;proxy;help;validate'= {
        }
        &'webtier;proxy;help;reload'= {
        }
        &'webtier;proxy;help;purge-cache'= {
        }
        &'webtier;proxy;help;rotate-session-key'= {
        }
        &'webtier;proxy;help;config'= {
        }
        &'webtier;proxy;help;export'= {
            cand nginx 'An nginx.conf that serves what the proxy serves (what nginx cannot do the same way is named in its comments)'
        }
        &'webtier;proxy;help;export;nginx'= {
        }
        &'webtier;proxy;help;help'= {
        }
        &'webtier;iam-policy'= {
            cand --config 'Path of the configuration file [default: webtier.toml]'
            cand --output 'Output format'
            cand --json 'Short for --output json'
            cand -q 'Print only results and errors: no progress or informational lines'
            cand --quiet 'Print only results and errors: no progress or informational lines'
            cand -v 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --no-color 'Never use colors (also when NO_COLOR is set)'
            cand -y 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand --yes 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'webtier;completions'= {
            cand --config 'Path of the configuration file [default: webtier.toml]'
            cand --output 'Output format'
            cand --json 'Short for --output json'
            cand -q 'Print only results and errors: no progress or informational lines'
            cand --quiet 'Print only results and errors: no progress or informational lines'
            cand -v 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --no-color 'Never use colors (also when NO_COLOR is set)'
            cand -y 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand --yes 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'webtier;man'= {
            cand --dir 'Write every page (webtier.1, webtier-plan.1, …) into DIR, which must exist'
            cand --config 'Path of the configuration file [default: webtier.toml]'
            cand --output 'Output format'
            cand --json 'Short for --output json'
            cand -q 'Print only results and errors: no progress or informational lines'
            cand --quiet 'Print only results and errors: no progress or informational lines'
            cand -v 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --verbose 'Log more detail to stderr (-v info, -vv debug, -vvv trace)'
            cand --no-color 'Never use colors (also when NO_COLOR is set)'
            cand -y 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand --yes 'Answer yes to confirmation prompts (required to apply when stdin is not a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'webtier;help'= {
            cand init 'Write webtier.toml (asking on a terminal, or from flags) and take this machine all the way: firewall, DNS, proxy, certificate, renewal'
            cand plan 'Show what webtier would change, without changing anything'
            cand apply 'Make the changes, after confirmation (or a saved plan, exactly)'
            cand destroy 'Remove what webtier created, and nothing else: its security-group rules, its DNS records, the proxy service, the renewal schedule (certificates are kept unless --revoke); after confirmation'
            cand status 'Check every site: ports open, DNS records and resolution, certificate and renewal, proxy, served certificate, upstreams (exit 1 when a check fails)'
            cand firewall 'Security-group ingress for ports 80/443 on the target instances'
            cand dns 'Route 53 records for every site name'
            cand cert 'Certificates: issue, renew (from cron), status'
            cand config 'Check or show the configuration'
            cand proxy 'The bundled proxy: run it, validate its configuration, reload it'
            cand iam-policy 'Print the least-privilege IAM policy for the configured steps (JSON)'
            cand completions 'Print a shell completion script'
            cand man 'Print the man page webtier(1) (roff), or write it and the page of every subcommand it refers to into a directory'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'webtier;help;init'= {
        }
        &'webtier;help;plan'= {
        }
        &'webtier;help;apply'= {
        }
        &'webtier;help;destroy'= {
        }
        &'webtier;help;status'= {
        }
        &'webtier;help;firewall'= {
            cand plan 'Show what this step would change'
            cand apply 'Make this step''s changes, after confirmation'
        }
        &'webtier;help;firewall;plan'= {
        }
        &'webtier;help;firewall;apply'= {
        }
        &'webtier;help;dns'= {
            cand plan 'Show what this step would change'
            cand apply 'Make this step''s changes, after confirmation'
        }
        &'webtier;help;dns;plan'= {
        }
        &'webtier;help;dns;apply'= {
        }
        &'webtier;help;cert'= {
            cand plan 'Show which certificates would be issued or renewed'
            cand apply 'Issue or renew what is due, after confirmation'
            cand issue 'Issue ACME certificates now, due or not (all ACME sites, or one)'
            cand renew 'Renew what is due, follow ACM''s renewals and keep ACM imports current; silent when nothing is due (for cron)'
            cand status 'Certificates, expiry and last result, ACM''s too (text table or JSON)'
            cand import-to-acm 'Import a site''s ACME certificate into AWS Certificate Manager (for a load balancer or CloudFront), or re-import it to the same ARN'
            cand revoke 'Revoke a site''s live certificate at the CA'
            cand schedule 'Install a systemd timer or cron entry that runs `cert renew` twice a day'
        }
        &'webtier;help;cert;plan'= {
        }
        &'webtier;help;cert;apply'= {
        }
        &'webtier;help;cert;issue'= {
        }
        &'webtier;help;cert;renew'= {
        }
        &'webtier;help;cert;status'= {
        }
        &'webtier;help;cert;import-to-acm'= {
        }
        &'webtier;help;cert;revoke'= {
        }
        &'webtier;help;cert;schedule'= {
        }
        &'webtier;help;config'= {
            cand check 'Validate the configuration; list every problem (exit 3 when invalid)'
            cand show 'Print the resolved configuration with defaults filled in'
        }
        &'webtier;help;config;check'= {
        }
        &'webtier;help;config;show'= {
        }
        &'webtier;help;proxy'= {
            cand run 'Run the proxy in the foreground: SIGHUP reloads configuration and certificates, SIGTERM stops accepting and drains in-flight requests'
            cand start 'Start the proxy in the background (a new session, output appended to proxy.log next to its pid file); returns once it serves'
            cand stop 'Stop the running proxy: it stops accepting, drains in-flight requests and exits; returns once it has exited'
            cand status 'Whether the proxy runs: pid, uptime, configuration, listeners, sites not served (exit 1 when it does not run or refuses a site)'
            cand validate 'Check a proxy configuration: the file, every site''s certificate and static roots, the listen addresses; list every problem (exit 3 when invalid)'
            cand reload 'Ask the running proxy to reload (SIGHUP to the process in its pid file)'
            cand purge-cache 'Remove responses from the running proxy''s cache (all of them, one key, or every key under a prefix), through its admin listener'
            cand rotate-session-key 'Put a new key first in the session key file (sessions sealed with the two keys before it stay valid until they expire) and ask the running proxy to reload'
            cand config 'Print the proxy configuration that webtier.toml renders (what `apply proxy-config` writes), without writing it'
            cand export 'Print the proxy configuration as another server''s (for those who keep nginx)'
        }
        &'webtier;help;proxy;run'= {
        }
        &'webtier;help;proxy;start'= {
        }
        &'webtier;help;proxy;stop'= {
        }
        &'webtier;help;proxy;status'= {
        }
        &'webtier;help;proxy;validate'= {
        }
        &'webtier;help;proxy;reload'= {
        }
        &'webtier;help;proxy;purge-cache'= {
        }
        &'webtier;help;proxy;rotate-session-key'= {
        }
        &'webtier;help;proxy;config'= {
        }
        &'webtier;help;proxy;export'= {
            cand nginx 'An nginx.conf that serves what the proxy serves (what nginx cannot do the same way is named in its comments)'
        }
        &'webtier;help;proxy;export;nginx'= {
        }
        &'webtier;help;iam-policy'= {
        }
        &'webtier;help;completions'= {
        }
        &'webtier;help;man'= {
        }
        &'webtier;help;help'= {
        }
    ]
    $completions[$command]
}
