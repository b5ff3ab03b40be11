// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IAgentRegistry} from "./interfaces/IAgentRegistry.sol";
import {ISkillCallRoots} from "./interfaces/ISkillCallRoots.sol";

/// @title Agents' reputation (ERC-8004 Reputation Registry), earned by paid skill calls only
/// @notice Functions and events follow ERC-8004's Reputation Registry: `giveFeedback`,
///         `revokeFeedback`, `appendResponse`, `getSummary`, `readFeedback`, `readAllFeedback`,
///         `getResponseCount`, `getClients`, `getLastIndex`, `getIdentityRegistry`, and the events
///         `NewFeedback`, `FeedbackRevoked` and `ResponseAppended`. A feedback is a signed
///         fixed-point `value` with `valueDecimals` (0-18) and optional tags; its index counts from 1
///         per (agent, client).
///
///         Our rule: a feedback needs a paid call. `giveFeedback` takes, after the spec's fields, the
///         proof of one skill call an operator's settled epoch paid (SkillCallRoots.isPaidCall): the
///         call's payer must be the caller and its agent the rated agent's wallet (its ERC-6551
///         account); each call is rated once, ever (revoking does not free it). The owner of the agent,
///         an address approved for it, an operator of its owner and its own wallet may not rate it.
///
///         Departures from the spec, all for the paid-call rule: `giveFeedback` has a tenth
///         parameter (the paid call); `getSummary` weights each value by the price of its call and
///         returns the total paid as a fourth value (`count`, `summaryValue`, `summaryValueDecimals`,
///         `totalPaid`: a caller decoding the first three reads the spec's shape), and accepts an
///         empty `clientAddresses` meaning every client (each feedback cost its client a paid call,
///         and weighs by what it paid). The event `FeedbackCall` records each feedback's call.
contract ReputationRegistry {
    /// @notice The most decimals a value may have.
    uint8 public constant MAX_VALUE_DECIMALS = 18;

    /// @notice The paid call a feedback is for: the operator and epoch that settled it, the call's
    ///         leaf and its proof against the epoch's call root.
    struct PaidCall {
        address operator;
        uint256 epoch;
        ISkillCallRoots.CallLeaf leaf;
        bytes32[] proof;
    }

    /// @notice One feedback as stored.
    struct Feedback {
        int128 value;
        uint8 valueDecimals;
        bool isRevoked;
        /// The call rated and the price its client paid (the feedback's weight).
        bytes32 callId;
        uint256 price;
        string tag1;
        string tag2;
        /// Who appended a response, one entry per response.
        address[] responders;
    }

    /// @notice Where a rated call's feedback is.
    struct FeedbackRef {
        uint256 agentId;
        address clientAddress;
        uint64 feedbackIndex;
    }

    /// @notice Which feedback a read counts: with these tags' hashes (zero: any), revoked ones or not.
    struct Filter {
        bytes32 tag1;
        bytes32 tag2;
        bool includeRevoked;
    }

    /// @notice What readAllFeedback returns, column by column.
    struct FeedbackList {
        address[] clients;
        uint64[] feedbackIndexes;
        int128[] values;
        uint8[] valueDecimals;
        string[] tag1s;
        string[] tag2s;
        bool[] revokedStatuses;
    }

    /// @notice The agents' identities (ERC-8004 Identity Registry).
    IAgentRegistry public immutable identityRegistry;
    /// @notice The skill calls' roots, which say whether a call was paid.
    ISkillCallRoots public immutable skillCallRoots;

    mapping(uint256 agentId => mapping(address clientAddress => Feedback[])) private _feedback;
    mapping(uint256 agentId => address[]) private _clients;
    mapping(bytes32 callId => FeedbackRef) private _rated;

    /// @notice ERC-8004: `clientAddress` gave agent `agentId` its feedback number `feedbackIndex`.
    event NewFeedback(
        uint256 indexed agentId,
        address indexed clientAddress,
        uint64 feedbackIndex,
        int128 value,
        uint8 valueDecimals,
        string indexed indexedTag1,
        string tag1,
        string tag2,
        string endpoint,
        string feedbackURI,
        bytes32 feedbackHash
    );
    /// @notice The call feedback `feedbackIndex` of `clientAddress` to agent `agentId` rates: `callId`,
    ///         paid `price` in `operator`'s epoch `epoch`.
    event FeedbackCall(uint256 indexed agentId, address indexed clientAddress, uint64 feedbackIndex, bytes32 indexed callId, address operator, uint256 epoch, uint256 price);
    /// @notice ERC-8004: `clientAddress` revoked its feedback `feedbackIndex` to agent `agentId`.
    event FeedbackRevoked(uint256 indexed agentId, address indexed clientAddress, uint64 indexed feedbackIndex);
    /// @notice ERC-8004: `responder` responded to feedback `feedbackIndex` of `clientAddress` to agent `agentId`.
    event ResponseAppended(uint256 indexed agentId, address indexed clientAddress, uint64 feedbackIndex, address indexed responder, string responseURI, bytes32 responseHash);

    /// @notice The identity registry given to the constructor is the zero address.
    error ReputationRegistryInvalidIdentityRegistry(address identityRegistry);
    /// @notice The SkillCallRoots given to the constructor is the zero address.
    error ReputationRegistryInvalidSkillCallRoots(address skillCallRoots);
    /// @notice `valueDecimals` above 18.
    error ReputationRegistryInvalidValueDecimals(uint8 valueDecimals);
    /// @notice `caller` owns, manages or is agent `agentId`: it may not rate it.
    error ReputationRegistrySelfFeedback(uint256 agentId, address caller);
    /// @notice Call `callId` was paid by `payer`, not by `caller`.
    error ReputationRegistryNotPayer(bytes32 callId, address payer, address caller);
    /// @notice Call `callId` was sold by `agent`, not by agent `agentId` (whose wallet is `wallet`).
    error ReputationRegistryNotAgentCall(bytes32 callId, uint256 agentId, address agent, address wallet);
    /// @notice Call `callId` is not shown paid by `operator`'s epoch `epoch` (not in its call root, or
    ///         the epoch not settled).
    error ReputationRegistryCallNotPaid(address operator, uint256 epoch, bytes32 callId);
    /// @notice Call `callId` was rated already (feedback `feedbackIndex` of `clientAddress` to agent `agentId`).
    error ReputationRegistryCallAlreadyRated(bytes32 callId, uint256 agentId, address clientAddress, uint64 feedbackIndex);
    /// @notice `clientAddress` gave agent `agentId` no feedback `feedbackIndex`.
    error ReputationRegistryUnknownFeedback(uint256 agentId, address clientAddress, uint64 feedbackIndex);
    /// @notice Feedback `feedbackIndex` of `clientAddress` to agent `agentId` is revoked already.
    error ReputationRegistryAlreadyRevoked(uint256 agentId, address clientAddress, uint64 feedbackIndex);

    /// @param identityRegistry_ The agents' identities.
    /// @param skillCallRoots_ The skill calls' roots.
    constructor(IAgentRegistry identityRegistry_, ISkillCallRoots skillCallRoots_) {
        if (address(identityRegistry_) == address(0)) revert ReputationRegistryInvalidIdentityRegistry(address(identityRegistry_));
        if (address(skillCallRoots_) == address(0)) revert ReputationRegistryInvalidSkillCallRoots(address(skillCallRoots_));
        identityRegistry = identityRegistry_;
        skillCallRoots = skillCallRoots_;
    }

    /// @notice ERC-8004: the identity registry whose agents are rated.
    /// @return The AgentRegistry.
    function getIdentityRegistry() external view returns (address) {
        return address(identityRegistry);
    }

    /// @notice ERC-8004: rate agent `agentId`, for one call of it the caller paid (see the contract's
    ///         notice). Emits NewFeedback and FeedbackCall.
    /// @param agentId The agent (reverts with ERC721NonexistentToken if there is none).
    /// @param value The rating, a signed fixed-point number.
    /// @param valueDecimals Its decimals, 0-18.
    /// @param tag1 Optional dimension.
    /// @param tag2 Optional sub-dimension.
    /// @param endpoint Optional: the endpoint used (emitted, not stored).
    /// @param feedbackURI Optional: an off-chain feedback file (emitted, not stored).
    /// @param feedbackHash Optional: keccak256 of that file (emitted, not stored).
    /// @param paidCall The call rated: its operator, epoch, leaf and proof; its payer must be the
    ///        caller, its agent the agent's wallet, and it must not have been rated before.
    /// @return feedbackIndex The feedback's index among the caller's to this agent (from 1).
    function giveFeedback(
        uint256 agentId,
        int128 value,
        uint8 valueDecimals,
        string memory tag1,
        string memory tag2,
        string memory endpoint,
        string memory feedbackURI,
        bytes32 feedbackHash,
        PaidCall calldata paidCall
    ) external returns (uint64 feedbackIndex) {
        if (valueDecimals > MAX_VALUE_DECIMALS) revert ReputationRegistryInvalidValueDecimals(valueDecimals);
        _checkPaidCall(agentId, paidCall);
        feedbackIndex = _store(agentId, value, valueDecimals, tag1, tag2, paidCall.leaf);
        _emitNewFeedback(agentId, feedbackIndex, value, valueDecimals, tag1, tag2, endpoint, feedbackURI, feedbackHash);
        emit FeedbackCall(agentId, msg.sender, feedbackIndex, paidCall.leaf.callId, paidCall.operator, paidCall.epoch, paidCall.leaf.price);
    }

    /// @notice ERC-8004: revoke one of the caller's feedbacks to agent `agentId`. Its call stays rated.
    /// @param agentId The agent.
    /// @param feedbackIndex The feedback's index (from 1).
    function revokeFeedback(uint256 agentId, uint64 feedbackIndex) external {
        Feedback storage f = _feedbackAt(agentId, msg.sender, feedbackIndex);
        if (f.isRevoked) revert ReputationRegistryAlreadyRevoked(agentId, msg.sender, feedbackIndex);
        f.isRevoked = true;
        emit FeedbackRevoked(agentId, msg.sender, feedbackIndex);
    }

    /// @notice ERC-8004: respond to a feedback (anyone: the agent showing a refund, an aggregator
    ///         tagging spam). The response is emitted; who responded is stored.
    /// @param agentId The agent.
    /// @param clientAddress Who gave the feedback.
    /// @param feedbackIndex Its index (from 1).
    /// @param responseURI The response.
    /// @param responseHash keccak256 of its content (optional for content-addressed URIs).
    function appendResponse(uint256 agentId, address clientAddress, uint64 feedbackIndex, string calldata responseURI, bytes32 responseHash) external {
        _feedbackAt(agentId, clientAddress, feedbackIndex).responders.push(msg.sender);
        emit ResponseAppended(agentId, clientAddress, feedbackIndex, msg.sender, responseURI, responseHash);
    }

    /// @notice ERC-8004 (price-weighted): the agent's feedback not revoked, from `clientAddresses`
    ///         (empty: every client) with these tags (empty: any), averaged with each value weighted
    ///         by the price of the call it rates.
    /// @param agentId The agent.
    /// @param clientAddresses The clients counted (empty: all).
    /// @param tag1 Only feedback with this tag1 (empty: any).
    /// @param tag2 Only feedback with this tag2 (empty: any).
    /// @return count Feedbacks counted.
    /// @return summaryValue Σ value × price / Σ price, each value first brought to `summaryValueDecimals`
    ///         (rounded towards zero; the plain average where every price is 0; 0 if none counted).
    /// @return summaryValueDecimals The most decimals among the values counted.
    /// @return totalPaid Σ price of the calls counted, in OPEN (wei).
    function getSummary(uint256 agentId, address[] calldata clientAddresses, string calldata tag1, string calldata tag2)
        external
        view
        returns (uint64 count, int128 summaryValue, uint8 summaryValueDecimals, uint256 totalPaid)
    {
        address[] memory clients = _clientsOr(agentId, clientAddresses);
        Filter memory filter = Filter(_tagKey(tag1), _tagKey(tag2), false);
        (count, summaryValueDecimals, totalPaid) = _tally(agentId, clients, filter);
        if (count != 0) summaryValue = _weightedAverage(agentId, clients, filter, summaryValueDecimals, totalPaid, count);
    }

    /// @notice ERC-8004: one feedback.
    /// @param agentId The agent.
    /// @param clientAddress Who gave it.
    /// @param feedbackIndex Its index (from 1).
    /// @return value The value.
    /// @return valueDecimals Its decimals.
    /// @return tag1 Its first tag.
    /// @return tag2 Its second tag.
    /// @return isRevoked Whether it was revoked.
    function readFeedback(uint256 agentId, address clientAddress, uint64 feedbackIndex)
        external
        view
        returns (int128 value, uint8 valueDecimals, string memory tag1, string memory tag2, bool isRevoked)
    {
        Feedback storage f = _feedbackAt(agentId, clientAddress, feedbackIndex);
        return (f.value, f.valueDecimals, f.tag1, f.tag2, f.isRevoked);
    }

    /// @notice The call a feedback rates and the price its client paid.
    /// @param agentId The agent.
    /// @param clientAddress Who gave it.
    /// @param feedbackIndex Its index (from 1).
    /// @return callId The call.
    /// @return price Its price, in OPEN (wei).
    function readFeedbackCall(uint256 agentId, address clientAddress, uint64 feedbackIndex) external view returns (bytes32 callId, uint256 price) {
        Feedback storage f = _feedbackAt(agentId, clientAddress, feedbackIndex);
        return (f.callId, f.price);
    }

    /// @notice Where call `callId`'s feedback is (all zero if it was never rated).
    /// @param callId The call.
    /// @return The agent, the client and the feedback's index.
    function feedbackOfCall(bytes32 callId) external view returns (FeedbackRef memory) {
        return _rated[callId];
    }

    /// @notice ERC-8004: the agent's feedback from `clientAddresses` (empty: every client) with these
    ///         tags (empty: any), revoked ones only if `includeRevoked`, client by client, oldest first.
    /// @param agentId The agent.
    /// @param clientAddresses The clients (empty: all).
    /// @param tag1 Only feedback with this tag1 (empty: any).
    /// @param tag2 Only feedback with this tag2 (empty: any).
    /// @param includeRevoked Whether to list revoked feedback too.
    /// @return clients Each feedback's client.
    /// @return feedbackIndexes Each one's index.
    /// @return values Each one's value.
    /// @return valueDecimals Each one's decimals.
    /// @return tag1s Each one's tag1.
    /// @return tag2s Each one's tag2.
    /// @return revokedStatuses Whether each is revoked.
    function readAllFeedback(uint256 agentId, address[] memory clientAddresses, string memory tag1, string memory tag2, bool includeRevoked)
        external
        view
        returns (
            address[] memory clients,
            uint64[] memory feedbackIndexes,
            int128[] memory values,
            uint8[] memory valueDecimals,
            string[] memory tag1s,
            string[] memory tag2s,
            bool[] memory revokedStatuses
        )
    {
        Filter memory filter = Filter(_tagKey(tag1), _tagKey(tag2), includeRevoked);
        FeedbackList memory l = _list(agentId, clientAddresses, filter);
        clients = l.clients;
        feedbackIndexes = l.feedbackIndexes;
        values = l.values;
        valueDecimals = l.valueDecimals;
        tag1s = l.tag1s;
        tag2s = l.tag2s;
        revokedStatuses = l.revokedStatuses;
    }

    /// @notice ERC-8004: how many responses were appended, to the agent's feedback from
    ///         `clientAddress` (zero address: any client) number `feedbackIndex` (0: any), by
    ///         `responders` (empty: anyone).
    /// @param agentId The agent.
    /// @param clientAddress The client (zero: all).
    /// @param feedbackIndex The feedback (0: all of the client's or clients').
    /// @param responders The responders counted (empty: all).
    /// @return count Responses.
    function getResponseCount(uint256 agentId, address clientAddress, uint64 feedbackIndex, address[] calldata responders) external view returns (uint64 count) {
        address[] memory clients;
        if (clientAddress == address(0)) {
            clients = _clients[agentId];
        } else {
            clients = new address[](1);
            clients[0] = clientAddress;
        }
        for (uint256 i = 0; i < clients.length; i++) {
            Feedback[] storage list = _feedback[agentId][clients[i]];
            for (uint256 j = 0; j < list.length; j++) {
                if (feedbackIndex != 0 && j + 1 != feedbackIndex) continue;
                address[] storage by = list[j].responders;
                for (uint256 r = 0; r < by.length; r++) {
                    if (responders.length == 0 || _containsAddress(responders, by[r])) count++;
                }
            }
        }
    }

    /// @notice ERC-8004: everyone who gave agent `agentId` feedback, in order of their first.
    /// @param agentId The agent.
    /// @return The clients.
    function getClients(uint256 agentId) external view returns (address[] memory) {
        return _clients[agentId];
    }

    /// @notice ERC-8004: the index of `clientAddress`'s last feedback to agent `agentId` (0 if none).
    /// @param agentId The agent.
    /// @param clientAddress The client.
    /// @return The index.
    function getLastIndex(uint256 agentId, address clientAddress) external view returns (uint64) {
        return uint64(_feedback[agentId][clientAddress].length);
    }

    // ---------------------------------------------------------------- internal

    /// @dev The caller paid `paidCall`, a settled call of agent `agentId`'s wallet never rated, and is
    ///      not the agent or who controls it.
    function _checkPaidCall(uint256 agentId, PaidCall calldata paidCall) private view {
        ISkillCallRoots.CallLeaf calldata leaf = paidCall.leaf;
        address wallet = identityRegistry.getAgentWallet(agentId);
        if (msg.sender == wallet || identityRegistry.isAuthorizedOrOwner(msg.sender, agentId)) revert ReputationRegistrySelfFeedback(agentId, msg.sender);
        FeedbackRef storage rated = _rated[leaf.callId];
        if (rated.feedbackIndex != 0) revert ReputationRegistryCallAlreadyRated(leaf.callId, rated.agentId, rated.clientAddress, rated.feedbackIndex);
        if (leaf.payer != msg.sender) revert ReputationRegistryNotPayer(leaf.callId, leaf.payer, msg.sender);
        if (leaf.agent != wallet) revert ReputationRegistryNotAgentCall(leaf.callId, agentId, leaf.agent, wallet);
        if (!skillCallRoots.isPaidCall(paidCall.operator, paidCall.epoch, leaf, paidCall.proof)) {
            revert ReputationRegistryCallNotPaid(paidCall.operator, paidCall.epoch, leaf.callId);
        }
    }

    function _store(uint256 agentId, int128 value, uint8 valueDecimals, string memory tag1, string memory tag2, ISkillCallRoots.CallLeaf calldata leaf)
        private
        returns (uint64 feedbackIndex)
    {
        Feedback[] storage list = _feedback[agentId][msg.sender];
        if (list.length == 0) _clients[agentId].push(msg.sender);
        Feedback storage f = list.push();
        f.value = value;
        f.valueDecimals = valueDecimals;
        f.callId = leaf.callId;
        f.price = leaf.price;
        f.tag1 = tag1;
        f.tag2 = tag2;
        feedbackIndex = uint64(list.length);
        _rated[leaf.callId] = FeedbackRef(agentId, msg.sender, feedbackIndex);
    }

    function _emitNewFeedback(
        uint256 agentId,
        uint64 feedbackIndex,
        int128 value,
        uint8 valueDecimals,
        string memory tag1,
        string memory tag2,
        string memory endpoint,
        string memory feedbackURI,
        bytes32 feedbackHash
    ) private {
        emit NewFeedback(agentId, msg.sender, feedbackIndex, value, valueDecimals, tag1, tag1, tag2, endpoint, feedbackURI, feedbackHash);
    }

    /// @dev Σ value × price / Σ price over the matching feedback, values brought to `decimals`: the
    ///      positive and negative parts summed apart, each term exact to 1e-18 of a unit of the result
    ///      (mulDiv), so nothing overflows before the final cast. Where every price is 0, each value
    ///      weighs 1 (the plain average).
    function _weightedAverage(uint256 agentId, address[] memory clients, Filter memory filter, uint8 decimals, uint256 totalPaid, uint64 count)
        private
        view
        returns (int128)
    {
        uint256 positive;
        uint256 negative;
        uint256 total = totalPaid == 0 ? count : totalPaid;
        for (uint256 i = 0; i < clients.length; i++) {
            Feedback[] storage list = _feedback[agentId][clients[i]];
            for (uint256 j = 0; j < list.length; j++) {
                Feedback storage f = list[j];
                if (!_matches(f, filter)) continue;
                int256 v = f.value;
                // at the summary's decimals, then 18 more for the division's precision
                uint256 magnitude = uint256(v < 0 ? -v : v) * 10 ** (uint256(decimals - f.valueDecimals) + 18);
                uint256 term = Math.mulDiv(magnitude, totalPaid == 0 ? 1 : f.price, total);
                if (v < 0) negative += term;
                else positive += term;
            }
        }
        int256 average = positive >= negative ? SafeCast.toInt256((positive - negative) / 1e18) : -SafeCast.toInt256((negative - positive) / 1e18);
        return SafeCast.toInt128(average);
    }

    /// @dev `clientAddresses`, or every client of the agent where it is empty.
    function _clientsOr(uint256 agentId, address[] calldata clientAddresses) private view returns (address[] memory) {
        if (clientAddresses.length == 0) return _clients[agentId];
        return clientAddresses;
    }

    function _feedbackAt(uint256 agentId, address clientAddress, uint64 feedbackIndex) private view returns (Feedback storage) {
        Feedback[] storage list = _feedback[agentId][clientAddress];
        if (feedbackIndex == 0 || feedbackIndex > list.length) revert ReputationRegistryUnknownFeedback(agentId, clientAddress, feedbackIndex);
        return list[feedbackIndex - 1];
    }

    /// @dev The agent's feedbacks from `clients` that match, client by client, oldest first.
    function _list(uint256 agentId, address[] memory clients, Filter memory filter) private view returns (FeedbackList memory l) {
        if (clients.length == 0) clients = _clients[agentId];
        (uint64 n,,) = _tally(agentId, clients, filter);
        l.clients = new address[](n);
        l.feedbackIndexes = new uint64[](n);
        l.values = new int128[](n);
        l.valueDecimals = new uint8[](n);
        l.tag1s = new string[](n);
        l.tag2s = new string[](n);
        l.revokedStatuses = new bool[](n);
        uint256 k;
        for (uint256 i = 0; i < clients.length; i++) {
            Feedback[] storage list = _feedback[agentId][clients[i]];
            for (uint256 j = 0; j < list.length; j++) {
                Feedback storage f = list[j];
                if (!_matches(f, filter)) continue;
                l.clients[k] = clients[i];
                l.feedbackIndexes[k] = uint64(j + 1);
                l.values[k] = f.value;
                l.valueDecimals[k] = f.valueDecimals;
                l.tag1s[k] = f.tag1;
                l.tag2s[k] = f.tag2;
                l.revokedStatuses[k] = f.isRevoked;
                k++;
            }
        }
    }

    /// @dev How many of the agent's feedbacks from `clients` match, the most decimals among them
    ///      and the total their calls paid.
    function _tally(uint256 agentId, address[] memory clients, Filter memory filter)
        private
        view
        returns (uint64 count, uint8 decimals, uint256 totalPaid)
    {
        for (uint256 i = 0; i < clients.length; i++) {
            Feedback[] storage list = _feedback[agentId][clients[i]];
            for (uint256 j = 0; j < list.length; j++) {
                Feedback storage f = list[j];
                if (!_matches(f, filter)) continue;
                count++;
                totalPaid += f.price;
                if (f.valueDecimals > decimals) decimals = f.valueDecimals;
            }
        }
    }

    function _matches(Feedback storage f, Filter memory filter) private view returns (bool) {
        if (f.isRevoked && !filter.includeRevoked) return false;
        if (filter.tag1 != bytes32(0) && keccak256(bytes(f.tag1)) != filter.tag1) return false;
        if (filter.tag2 != bytes32(0) && keccak256(bytes(f.tag2)) != filter.tag2) return false;
        return true;
    }

    /// @dev keccak256 of a tag filter, or zero for the empty filter (any tag).
    function _tagKey(string memory tag) private pure returns (bytes32) {
        return bytes(tag).length == 0 ? bytes32(0) : keccak256(bytes(tag));
    }

    function _containsAddress(address[] calldata list, address item) private pure returns (bool) {
        for (uint256 i = 0; i < list.length; i++) {
            if (list[i] == item) return true;
        }
        return false;
    }
}
