/** The call-me-back button: sites, the public intake with its abuse guard, the embed. */
export { widgetModule, widgetPrefix, DEMO_TARGET } from './module.js';
export { WidgetIntake, type WidgetSubmission, type WidgetAccepted } from './intake.js';
export { ProofOfWork, type ChallengeSolution } from './challenge.js';
export { StatusTokens, visitorStatus, type VisitorStatus, type VisitorState } from './status.js';
export { SiteVolume, volumeAlertMail, type VolumeAlertEvent, type AlertSender, type VolumeAlertSenders } from './volume.js';
export { applySiteInput, normaliseOrigin, type Site, type SiteInput, type SitePolicy } from './sites.js';
export { OpenTimes } from './slots.js';
export { siteRoutes, widgetRoutes, doNotCallRoutes, demoRoutes, widgetScriptRoutes, requestOrigin } from './routes.js';
