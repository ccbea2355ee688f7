// A customer's page using Segment's analytics-next, as a site bundles it from npm.
import { AnalyticsBrowser } from "@segment/analytics-next";

window.sendWithSegment = async ({ writeKey, cdnURL, batching }) => {
  const options = batching
    ? { integrations: { "Segment.io": { deliveryStrategy: { strategy: "batching", config: { size: 5, timeout: 200 } } } } }
    : {};
  const [analytics] = await AnalyticsBrowser.load({ writeKey, cdnURL }, options);
  await analytics.identify("seg-user", { email: "Seg.User@Example.com", plan: "pro" });
  await analytics.track("Order Completed", { revenue: 42.5, currency: "EUR" });
  await analytics.page("Docs", "Install", { path: "/docs/install" });
  await analytics.group("acme-inc", { name: "Acme" });
  await analytics.alias("seg-user", "seg-anon-before");
  return { anonymousId: analytics.user().anonymousId() };
};
