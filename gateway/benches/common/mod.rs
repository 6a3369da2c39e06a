//! What the benchmarks of this package share.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use tonic::transport::Channel;

/// Waits until the gateway at `addr`, and every service as it sees them,
/// answer SERVING.
pub async fn wait_ready(addr: &str) {
    for _ in 0..1200 {
        if let Ok(channel) = Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
        {
            // The gateway, and every service as the gateway sees it.
            let mut ready = true;
            for service in [""].into_iter().chain(innolab_gateway::UPSTREAM_NAMES) {
                ready &= tonic_health::pb::health_client::HealthClient::new(channel.clone())
                    .check(tonic_health::pb::HealthCheckRequest {
                        service: service.into(),
                    })
                    .await
                    .is_ok_and(|r| r.get_ref().status == 1);
            }
            if ready {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{addr} not ready");
}
