// A customer's page using RudderStack's JavaScript SDK v3, with its plugins bundled from npm.
import { RudderAnalytics } from "@rudderstack/analytics-js/bundled";

window.sendWithRudderStack = ({ writeKey, dataPlaneUrl, configUrl, batching, beacon }) =>
  new Promise((resolve, reject) => {
    setTimeout(() => reject(new Error("the SDK did not load within 15 s")), 15000);
    const analytics = new RudderAnalytics();
    const queueOptions = batching ? { batch: { enabled: true, maxItems: 5, flushInterval: 200 } } : {};
    analytics.load(writeKey, dataPlaneUrl, {
      configUrl, useBeacon: !!beacon, queueOptions, beaconQueueOptions: { flushQueueInterval: 200 },
      destSDKBaseURL: configUrl, pluginsSDKBaseURL: configUrl, polyfillIfRequired: false, logLevel: "ERROR",
      onError: (error) => console.error("rudderstack: " + (error && error.message ? error.message : error)),
      onLoaded: (rudder) => {
        rudder.identify("rs-user", { email: "RS.User@Example.com", plan: "team" });
        rudder.track("Order Completed", { revenue: 17, currency: "USD" });
        rudder.page("Docs", "Install", { path: "/docs/install" });
        rudder.group("rs-group", { name: "Group" });
        rudder.alias("rs-user", "rs-anon-before");
        resolve({ anonymousId: rudder.getAnonymousId() });
      },
    });
  });
