import type { Component } from 'vue'
import CameraDetectionsPanel from './CameraDetectionsPanel.vue'
import LiftCardsPanel from './LiftCardsPanel.vue'
import PassagesPanel from './PassagesPanel.vue'
import ZonesPanel from './ZonesPanel.vue'

/**
 * The named panels a kind may choose for the estate view (`view.panel` in devices/<kind>.ts); a kind
 * that names none is shown by TablePanel.vue, from its declared columns or its state fields.
 */
export const NAMED_PANELS: Record<string, Component> = {
  zones: ZonesPanel,
  lift_cards: LiftCardsPanel,
  passages: PassagesPanel,
  camera_detections: CameraDetectionsPanel,
}
