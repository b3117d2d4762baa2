"""The demo's AWS world in moto_server, made and inspected with boto3 (a
dependency of moto, so it is in the test services' virtualenv).

    demo-aws.py create ZONE
        A VPC, a subnet that gives public IPv4 addresses, a security group
        "web" that allows ssh from 10.0.0.0/8 (not webtier's), one instance in
        it, the public hosted zone ZONE and a record in it that is not
        webtier's (mail.ZONE). Prints: INSTANCE_ID PUBLIC_IP GROUP_ID ZONE_ID

    demo-aws.py show GROUP_ID ZONE_ID
        One line each: the group's ingress rules, the zone's records.

    demo-aws.py check-destroyed GROUP_ID ZONE_ID NAME
        Exit 0 when no rule marked managed-by=webtier and no record of NAME
        is left, and the ssh rule and mail.ZONE are still there.

The endpoint comes from AWS_ENDPOINT_URL, which must be loopback: this
never talks to real AWS.
"""

import os
import sys

import boto3

ENDPOINT = os.environ.get("AWS_ENDPOINT_URL", "")
if not ENDPOINT.startswith("http://127.0.0.1:"):
    sys.exit(f"demo-aws.py: AWS_ENDPOINT_URL is {ENDPOINT!r}, not moto on loopback")

REGION = os.environ.get("AWS_REGION", "us-east-1")
ec2 = boto3.client("ec2", endpoint_url=ENDPOINT, region_name=REGION)
route53 = boto3.client("route53", endpoint_url=ENDPOINT, region_name=REGION)


def create(zone_name):
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    ec2.modify_subnet_attribute(SubnetId=subnet, MapPublicIpOnLaunch={"Value": True})
    group = ec2.create_security_group(
        GroupName="web", Description="web server", VpcId=vpc
    )["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "ssh from the VPN"}],
            }
        ],
    )
    instance = ec2.run_instances(
        ImageId="ami-12345678",
        MinCount=1,
        MaxCount=1,
        SubnetId=subnet,
        SecurityGroupIds=[group],
    )["Instances"][0]["InstanceId"]
    described = ec2.describe_instances(InstanceIds=[instance])
    ip = described["Reservations"][0]["Instances"][0]["PublicIpAddress"]
    zone = route53.create_hosted_zone(Name=zone_name, CallerReference="webtier-demo")
    zone_id = zone["HostedZone"]["Id"].split("/")[-1]
    route53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "CREATE",
                    "ResourceRecordSet": {
                        "Name": f"mail.{zone_name}",
                        "Type": "A",
                        "TTL": 300,
                        "ResourceRecords": [{"Value": "192.0.2.25"}],
                    },
                }
            ]
        },
    )
    print(instance, ip, group, zone_id)


def rules(group):
    found = ec2.describe_security_group_rules(
        Filters=[{"Name": "group-id", "Values": [group]}]
    )["SecurityGroupRules"]
    return [r for r in found if not r["IsEgress"]]


def records(zone_id):
    return route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]


def rule_text(r):
    source = r.get("CidrIpv4") or r.get("CidrIpv6") or "?"
    ports = r["FromPort"] if r["FromPort"] == r["ToPort"] else f'{r["FromPort"]}-{r["ToPort"]}'
    return f'{r["IpProtocol"]}/{ports} from {source} ({r.get("Description", "")})'


def record_text(s):
    values = [v["Value"] for v in s.get("ResourceRecords", [])]
    return f'{s["Name"].rstrip(".")} {s["Type"]} {" ".join(values)}'


def show(group, zone_id):
    for r in rules(group):
        print(f"rule   {rule_text(r)}")
    for s in records(zone_id):
        if s["Type"] not in ("SOA", "NS"):
            print(f"record {record_text(s)}")


def check_destroyed(group, zone_id, name):
    problems = []
    left = rules(group)
    problems += [
        f"rule left: {rule_text(r)}"
        for r in left
        if r.get("Description", "") == "managed-by=webtier"
    ]
    if not any(r["FromPort"] == 22 for r in left):
        problems.append("the ssh rule that was not webtier's is gone")
    sets = records(zone_id)
    problems += [
        f"record left: {record_text(s)}"
        for s in sets
        if s["Name"].rstrip(".") == name
    ]
    zone_name = route53.get_hosted_zone(Id=zone_id)["HostedZone"]["Name"].rstrip(".")
    if not any(s["Name"].rstrip(".") == f"mail.{zone_name}" for s in sets):
        problems.append(f"mail.{zone_name}, which was not webtier's, is gone")
    for p in problems:
        print(p, file=sys.stderr)
    sys.exit(1 if problems else 0)


def main(argv):
    match argv:
        case ["create", zone_name]:
            create(zone_name)
        case ["show", group, zone_id]:
            show(group, zone_id)
        case ["check-destroyed", group, zone_id, name]:
            check_destroyed(group, zone_id, name)
        case _:
            sys.exit(__doc__)


main(sys.argv[1:])
