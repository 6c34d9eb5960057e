// Package ebsrv is the local twin's EventBridge (docs/twin.md): rules and schedules read from
// template.yaml itself, delivered to in-process targets, and EventBridge's JSON 1.1 API in front.
//
//   - ParseTemplate / LoadTemplate read the template's buses (default, and each
//     AWS::Events::EventBus), its rules (AWS::Events::Rule, and SAM function events of Type
//     EventBridgeRule / CloudWatchEvent, on the bus their EventBusName names: absent is the
//     default bus) and its schedules (SAM ScheduleV2 / Schedule). Intrinsics (!Ref, !GetAtt,
//     !Sub, !If with the template's Conditions, !Join, !FindInMap) resolve from the caller's
//     values, then parameter Defaults, then the twin's account (DefaultAccount, DefaultRegion).
//   - Router implements core.EventSink. Put matches the event against the rules of its bus
//     only (AWS's own events reach only the default bus) and queues one delivery per target;
//     Workers goroutines deliver: a function target calls the handler Subscribe gave for its
//     logical id with the envelope Lambda receives, an SNS target (the alert topic) is kept in
//     Alerts. A handler error is retried as Lambda retries asynchronous invocations (the
//     template's EventInvokeConfig.MaximumRetryAttempts, 2 by default) and then kept in
//     DeadLetters. Drain waits until nothing is pending. Fire delivers the schedules due on the
//     clock; FireNow one tick at once.
//   - Server is the HTTP handler: PutEvents, ListEventBuses, DescribeEventBus, ListRules,
//     DescribeRule and ListTargetsByRule, each recorded in the CallLog.
//
// Faults (core.Faults; the parameter is a cache id, none for every cache). A cache id is read
// from detail.cache, an S3 key PREFIX/CACHE/..., or an ElastiCache SourceIdentifier; an event
// about no known cache is hit only by faults without a cache id. Event faults apply to rule
// deliveries, not to schedules.
//   - duplicate-events: every target gets the event twice (same id, as at-least-once delivery does).
//   - delay-events: deliveries wait Options.EventDelay on the clock (DefaultEventDelay).
//   - lose-events: the event reaches no target; with Options.LoseEvery = N only every Nth event
//     the fault applies to is lost (default: all of them). Lost deliveries show in Deliveries
//     with status "lost".
//   - deny=events:OPERATION: the API answers AccessDeniedException.
//   - throttle: the API answers ThrottlingException to every ThrottleEvery-th request the fault
//     applies to, so an SDK's retry succeeds.
//
// Not modelled: a rule target's RetryPolicy and DeadLetterConfig (they cover failures to invoke
// a target, which in-process delivery does not have), MaximumEventAgeInSeconds, input
// transformers, archives and replays, and rules or buses created at run time.
package ebsrv
