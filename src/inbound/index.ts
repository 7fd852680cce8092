/** Calls to a person wherever they are: profiles, the IVR session, IM offers, voicemail. */
export type { Destinations, ImChat, ImFormAnswer, ImLink, ImPresence, InboundProfile, InboundProfileInput, Route, RouteTarget, ScheduleRule, Voicemail, Weekday } from './types.js';
export { ProfileService, ProfileStore, toProfileView, type StoredProfile, type UserFacts, type UserFactsSource } from './profiles.js';
export { routeAt, isTimeZone } from './schedule.js';
export { OfferBoard, OFFER_FORM_TYPE, parseReply, type Offer, type OfferAnswer } from './offers.js';
export { OfferReplies } from './replies.js';
export { MediaLinks, VoicemailStore, Voicemails, type DeliveryTarget } from './voicemail.js';
export { InboundCallSession, type InboundAttempt, type InboundLimits, type SessionDeps, type SessionOutcome } from './session.js';
export { inboundUserRoutes, mediaRoutes } from './routes.js';
