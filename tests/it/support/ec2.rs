//! EC2 resources in moto for the tests that need an instance: a VPC with
//! a public subnet, a security group, and instances in it.

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{AttributeBooleanValue, Filter, ResourceType, Tag, TagSpecification};

/// What `web_instances` made.
pub struct Web {
    pub sg: String,
    pub instances: Vec<String>,
}

/// `count` instances tagged `Role = role`, each with a public IPv4 address
/// (and one IPv6 address with `ipv6`), in a security group `web`.
pub async fn web_instances(ec2: &Client, count: i32, role: &str, ipv6: bool) -> Web {
    let mut vpc = ec2.create_vpc().cidr_block("10.0.0.0/16");
    if ipv6 {
        vpc = vpc.amazon_provided_ipv6_cidr_block(true);
    }
    let vpc = vpc.send().await.unwrap().vpc.unwrap();
    let mut subnet = ec2
        .create_subnet()
        .vpc_id(vpc.vpc_id().unwrap())
        .cidr_block("10.0.1.0/24");
    if ipv6 {
        let v6 = vpc.ipv6_cidr_block_association_set()[0]
            .ipv6_cidr_block()
            .unwrap()
            .replace("/56", "/64");
        subnet = subnet.ipv6_cidr_block(v6);
    }
    let subnet = subnet.send().await.unwrap().subnet.unwrap();
    ec2.modify_subnet_attribute()
        .subnet_id(subnet.subnet_id().unwrap())
        .map_public_ip_on_launch(AttributeBooleanValue::builder().value(true).build())
        .send()
        .await
        .unwrap();
    let sg = ec2
        .create_security_group()
        .group_name("web")
        .description("web servers")
        .vpc_id(vpc.vpc_id().unwrap())
        .send()
        .await
        .unwrap()
        .group_id
        .unwrap();
    let mut run = ec2
        .run_instances()
        .image_id("ami-12345678")
        .min_count(count)
        .max_count(count)
        .subnet_id(subnet.subnet_id().unwrap())
        .security_group_ids(&sg)
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::Instance)
                .tags(Tag::builder().key("Role").value(role).build())
                .build(),
        );
    if ipv6 {
        run = run.ipv6_address_count(1);
    }
    let instances = run
        .send()
        .await
        .unwrap()
        .instances()
        .iter()
        .map(|i| i.instance_id().unwrap().to_string())
        .collect();
    Web { sg, instances }
}

/// The public IPv4 address moto gave `instance`.
pub async fn public_ipv4(ec2: &Client, instance: &str) -> String {
    let out = ec2
        .describe_instances()
        .instance_ids(instance)
        .send()
        .await
        .unwrap();
    out.reservations()[0].instances()[0]
        .public_ip_address()
        .expect("moto gives a public IPv4 address")
        .to_string()
}

/// The ingress rules of security group `sg`: (protocol, from port, CIDR,
/// description), sorted.
pub async fn ingress(ec2: &Client, sg: &str) -> Vec<(String, i32, String, Option<String>)> {
    let rules = ec2
        .describe_security_group_rules()
        .filters(Filter::builder().name("group-id").values(sg).build())
        .send()
        .await
        .unwrap();
    let mut out: Vec<_> = rules
        .security_group_rules()
        .iter()
        .filter(|r| r.is_egress() == Some(false))
        .map(|r| {
            (
                r.ip_protocol().unwrap().to_string(),
                r.from_port().unwrap(),
                r.cidr_ipv4().or(r.cidr_ipv6()).unwrap().to_string(),
                r.description().map(str::to_string),
            )
        })
        .collect();
    out.sort();
    out
}
